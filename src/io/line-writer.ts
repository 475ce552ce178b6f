import type { Writable } from 'node:stream';
import { once } from 'node:events';

/**
 * Buffers lines and writes them in large chunks, waiting for 'drain' when the stream asks to: one write
 * call per ~1 MiB instead of one per record, and memory bounded by the chunk size whatever the stream's
 * pace. Lines are encoded straight into a Buffer (no growing string to flatten and encode again).
 */
export class LineWriter {
  private buf: Buffer;
  private pos = 0;
  private failed: Error | undefined;

  constructor(
    private readonly stream: Writable,
    private readonly chunkBytes = 1 << 20,
  ) {
    this.buf = Buffer.allocUnsafe(chunkBytes);
    stream.on('error', (e) => {
      this.failed = e;
    });
  }

  /** Adds a line (a newline is appended). Returns a promise only when the caller must wait. */
  write(line: string): Promise<void> | undefined {
    // A UTF-16 unit takes at most 3 UTF-8 bytes; flush first unless the line surely fits.
    if (this.pos + line.length * 3 + 1 > this.chunkBytes) {
      const wait = this.flush();
      if (line.length * 3 + 1 > this.chunkBytes) {
        const ok = this.stream.write(`${line}\n`);
        if (wait) return wait.then(() => (ok ? undefined : this.waitDrain()));
        return ok ? undefined : this.waitDrain();
      }
      this.pos += this.buf.write(line, this.pos, 'utf8');
      this.buf[this.pos++] = 10;
      return wait;
    }
    this.pos += this.buf.write(line, this.pos, 'utf8');
    this.buf[this.pos++] = 10;
    return undefined;
  }

  /** Writes what is buffered; resolves once the stream can take more. */
  flush(): Promise<void> | undefined {
    if (this.failed) return Promise.reject(this.failed);
    if (this.pos === 0) return undefined;
    const chunk = this.buf.subarray(0, this.pos);
    // The stream keeps the chunk until it is written: the next lines go to a fresh buffer.
    this.buf = Buffer.allocUnsafe(this.chunkBytes);
    this.pos = 0;
    if (this.stream.write(chunk)) return undefined;
    return this.waitDrain();
  }

  /** Flushes and ends the stream (not stdout/stderr, which stay open), resolving when everything is written. */
  async end(): Promise<void> {
    await this.flush();
    if (this.failed) throw this.failed;
    const s = this.stream as Writable & { fd?: number };
    if (s.fd === 1 || s.fd === 2) return;
    const done = once(s, 'finish');
    s.end();
    await done;
    if (this.failed) throw this.failed;
  }

  private waitDrain(): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (e?: Error) => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        if (e) reject(e);
        else resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('error', done);
    });
  }
}
