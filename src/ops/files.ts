/** Files that must survive a crash: written beside their final name, fsynced, renamed, and the folder fsynced. */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export function fsyncFile(file: string): void {
  const fd = openSync(file, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms and file systems cannot fsync a folder; the rename is then as durable as they make it.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A temporary name beside `file`, so the final rename stays on one file system. */
export function partialName(file: string): string {
  return join(dirname(file), `.${basename(file)}.partial-${process.pid}`);
}

/** Moves a finished temporary file into place, durably. */
export function commitFile(partial: string, file: string): void {
  fsyncFile(partial);
  renameSync(partial, file);
  fsyncDir(dirname(file));
}

/** Writes `content` to `file` so that a crash leaves either the old file or the new one, never half of one. */
export function writeFileAtomic(file: string, content: string | Buffer): void {
  const partial = partialName(file);
  try {
    writeFileSync(partial, content);
    commitFile(partial, file);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
