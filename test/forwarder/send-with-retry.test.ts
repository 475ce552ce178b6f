import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, isConnectionError, sendWithRetry } from '../../src/forwarder/retry-policy.js';

const connErr = (code = 'ECONNRESET') => Object.assign(new Error(code), { code });
const fast = { minTimeoutMs: 1, maxTimeoutMs: 2 };

describe('sendWithRetry', () => {
  it('retries connection errors quickly and returns the first success', async () => {
    let calls = 0;
    const retried: number[] = [];
    const result = await sendWithRetry(
      async (attempt) => {
        calls += 1;
        if (attempt < 3) throw connErr();
        return 'ok';
      },
      { ...fast, retries: 3, onRetry: ({ attempt }) => retried.push(attempt) },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(retried).toEqual([1, 2]);
  });

  it('rethrows the last connection error once the retries are used', async () => {
    let calls = 0;
    const error = await sendWithRetry(
      async () => {
        calls += 1;
        throw connErr('ECONNREFUSED');
      },
      { ...fast, retries: 2 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect((error as { code: string }).code).toBe('ECONNREFUSED');
  });

  it('stops at once on AbortError and rethrows the original error', async () => {
    let calls = 0;
    const original = new Error('HTTP 400');
    const error = await sendWithRetry(
      async () => {
        calls += 1;
        throw new AbortError(original);
      },
      fast,
    ).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(error).toBe(original);
  });

  it('does not retry errors that are not connection errors (a timeout already took its time)', async () => {
    let calls = 0;
    await expect(
      sendWithRetry(async () => {
        calls += 1;
        throw Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
      }, fast),
    ).rejects.toThrow('Headers Timeout');
    expect(calls).toBe(1);
  });

  it('rejects unknown options by name', () => {
    expect(() => sendWithRetry(async () => 1, { tries: 3 } as never)).toThrow(/unknown option "tries"/);
  });
});

describe('sendWithRetry with undici on loopback', () => {
  let server: Server;
  let port: number;
  let connections = 0;
  const sockets = new Set<Socket>();
  const agent = new Agent();

  beforeAll(async () => {
    // Drops the first two connections without answering, then answers 200.
    server = createServer((socket) => {
      sockets.add(socket);
      connections += 1;
      if (connections <= 2) return socket.destroy();
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await agent.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('a reset connection is retried in-process; the answer comes back', async () => {
    const seen: unknown[] = [];
    const text = await sendWithRetry(
      async () => {
        const res = await request(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}', dispatcher: agent });
        return res.body.text();
      },
      { ...fast, retries: 3, onRetry: ({ error }) => seen.push(error) },
    );
    expect(text).toBe('ok');
    expect(seen).toHaveLength(2);
    expect(seen.every(isConnectionError)).toBe(true);
  });
});
