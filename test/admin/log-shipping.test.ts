/** Shipping pino's JSON lines to an HTTP collector, with request ids, a collector that goes away, and a bounded buffer. */
import { createServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogShipper } from '../../src/admin/log-shipping.ts';
import { createLogger } from '../../src/server/logger.ts';

let collector: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (collector ? collector.close(r) : r(undefined)));
  collector = undefined;
});

async function startCollector(answer = () => 200): Promise<{ url: string; lines: Record<string, unknown>[]; requests: { contentType: string | undefined; auth: string | undefined }[] }> {
  const lines: Record<string, unknown>[] = [];
  const requests: { contentType: string | undefined; auth: string | undefined }[] = [];
  collector = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const status = answer();
      requests.push({ contentType: req.headers['content-type'], auth: req.headers.authorization });
      if (status < 300) for (const l of body.split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((r) => collector!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(collector.address() as AddressInfo).port}/logs`, lines, requests };
}

describe('log shipping', () => {
  it('sends the JSON lines in NDJSON batches, beside stdout, with the request id on request lines', async () => {
    const c = await startCollector();
    const shipper = createLogShipper({ url: c.url, headers: { authorization: 'Bearer t' }, flushIntervalMs: 60_000, batchSize: 3 });
    let stdout = '';
    const local = new Writable({ write: (chunk, _e, done) => ((stdout += chunk), done()) });
    const logger = createLogger({ level: 'info', destination: pino.multistream([{ stream: local }, { stream: shipper }]) });
    logger.child({ reqId: 'abc-1' }).info({ event: 'x', password: 'hunter2' }, 'request completed');
    logger.info('two');
    logger.info('three');
    logger.info('four');
    await shipper.flush();
    expect(c.lines.map((l) => l.msg)).toEqual(['request completed', 'two', 'three', 'four']);
    expect(c.lines[0]).toMatchObject({ reqId: 'abc-1', password: '[redacted]' });
    expect(c.requests[0]).toEqual({ contentType: 'application/x-ndjson', auth: 'Bearer t' });
    expect(c.requests.length).toBe(2);
    expect(stdout.split('\n').filter(Boolean)).toHaveLength(4);
    expect(shipper.stats()).toEqual({ sent: 4, dropped: 0, failedRequests: 0, waiting: 0 });
  });

  it('keeps lines while the collector fails, and sends them in order once it is back', async () => {
    let status = 503;
    const c = await startCollector(() => status);
    const shipper = createLogShipper({ url: c.url, flushIntervalMs: 10 });
    shipper.write('{"n":1}\n{"n":2}\n');
    await shipper.flush();
    expect(shipper.stats()).toMatchObject({ sent: 0, waiting: 2, failedRequests: 1 });
    status = 200;
    shipper.write('{"n":3}\n');
    await shipper.flush();
    expect(c.lines.map((l) => l.n)).toEqual([1, 2, 3]);
    shipper.end();
  });

  it('drops the oldest lines beyond its buffer and counts them, and never throws when nobody listens', async () => {
    const shipper = createLogShipper({ url: 'http://127.0.0.1:9/none', maxBufferLines: 3, flushIntervalMs: 60_000, timeoutMs: 500 });
    for (let i = 1; i <= 5; i++) shipper.write(`{"n":${i}}\n`);
    await shipper.flush();
    expect(shipper.stats()).toMatchObject({ dropped: 2, waiting: 3, sent: 0 });
    await new Promise<void>((r) => shipper.end(r));
  });

  it('refuses a URL that is not http(s) and unknown options', () => {
    expect(() => createLogShipper({ url: 'file:///etc/passwd' })).toThrow(/http\(s\) URL/);
    expect(() => createLogShipper({ url: 'http://x', batch: 1 } as never)).toThrow(/unknown log shipping option "batch"/);
  });
});
