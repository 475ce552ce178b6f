/**
 * The sender on its own, against a local HTTP server: answers come back as they are (status, headers, body,
 * cut at 1 MiB), a target that does not answer in time is a failure, and a connection reset gets the quick
 * in-process retries.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSender } from '../../src/forwarder/send.ts';
import type { Sender } from '../../src/forwarder/send.ts';
import type { TargetFailure, TargetRequest } from '../../src/forwarder/targets/index.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<string> {
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(r);
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function sender(timeoutMs = 5000): Sender {
  const s = createSender({ connections: 2, timeoutMs });
  cleanups.push(() => s.close());
  return s;
}

const request = (origin: string, body = '{"a":1}'): TargetRequest => ({
  method: 'POST',
  origin,
  path: '/v1/charges',
  headers: { 'content-type': 'application/json', 'idempotency-key': 'k-1' },
  body,
  items: [],
});

describe('sender', () => {
  it('answers the status, the headers and the body as the target sent them, and sends the request as built', async () => {
    let seen: { method?: string; url?: string; key?: string; body?: string } = {};
    const origin = await serve((req, res, body) => {
      seen = { method: req.method, url: req.url, key: String(req.headers['idempotency-key']), body };
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '7', 'x-multi': ['a', 'b'] }).end('{"error":"busy"}');
    });
    const answer = await sender().send(request(origin, '{"charge":"x"}'));
    expect(seen).toEqual({ method: 'POST', url: '/v1/charges', key: 'k-1', body: '{"charge":"x"}' });
    expect(answer).toMatchObject({ status: 503, body: '{"error":"busy"}', headers: { 'content-type': 'application/json', 'retry-after': '7', 'x-multi': ['a', 'b'] } });
  });

  it('serialises an answer as its status, parsed headers and body, not undici\'s raw header list', async () => {
    const origin = await serve((req, res) => res.writeHead(201, { 'x-id': 'ch_1' }).end('{"id":"ch_1"}'));
    const answer = await sender().send(request(origin));
    const json = JSON.parse(JSON.stringify(answer)) as Record<string, unknown>;
    expect(Object.keys(json).sort()).toEqual(['body', 'headers', 'status']);
    expect(json).toMatchObject({ status: 201, body: '{"id":"ch_1"}', headers: { 'x-id': 'ch_1' } });
  });

  it('cuts an answer larger than 1 MiB and still answers the next request on the same connections', async () => {
    const big = 'x'.repeat(1024 * 1024 + 4096);
    const origin = await serve((req, res) => (req.url === '/v1/charges' ? res.writeHead(200).end(big) : res.writeHead(200).end('small')));
    const s = sender();
    const answer = await s.send(request(origin));
    expect('status' in answer && answer.body.length).toBe(1024 * 1024);
    expect(await s.send({ ...request(origin), path: '/other' })).toMatchObject({ status: 200, body: 'small' });
  });

  it('gives up on a target that does not answer within timeoutMs', async () => {
    const origin = await serve(() => {
      // Never answers.
    });
    const answer = (await sender(100).send(request(origin))) as TargetFailure;
    expect(answer.error).toMatchObject({ name: 'TimeoutError', code: 'ETIMEDOUT' });
  });

  it('retries a reset connection in-process and answers what the target finally said', async () => {
    let calls = 0;
    const origin = await serve((_req, res) => {
      calls += 1;
      if (calls <= 2) res.socket!.destroy();
      else res.writeHead(201, { 'content-type': 'application/json' }).end('{"id":"ch_1"}');
    });
    const answer = await sender().send(request(origin));
    expect(answer).toMatchObject({ status: 201, body: '{"id":"ch_1"}' });
    expect(calls).toBe(3);
  });

  it('answers a failure, never throws, when the connection keeps being reset', async () => {
    let calls = 0;
    const origin = await serve((_req, res) => {
      calls += 1;
      res.socket!.destroy();
    });
    const answer = (await sender().send(request(origin))) as TargetFailure;
    expect(answer.error).toBeInstanceOf(Error);
    expect(calls).toBe(3);
  });

  it('bounds the wait for a connection too: a short timeout answers even when no connection ever comes', async () => {
    // A dispatcher that never connects stands for a target whose address drops connection attempts
    // (which loopback cannot do); undici would call onConnect much later, or never.
    let handler: { onConnect?: (abort: (reason?: Error) => void) => void } | undefined;
    const never = { dispatch: (_o: unknown, h: typeof handler) => ((handler = h), true), close: async () => undefined };
    const s = createSender({ connections: 1, timeoutMs: 50, dispatcher: never as never });
    const failure = (await s.send(request('http://192.0.2.1:9'))) as TargetFailure;
    expect(failure.error).toMatchObject({ code: 'ETIMEDOUT', message: 'no answer within 50 ms' });
    // When the connection does come, the request is aborted at once.
    let aborted: Error | undefined;
    handler!.onConnect!((reason) => (aborted = reason));
    expect(aborted).toBe(failure.error);
  });
});
