import { describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../src/adapters/sqlite/index.ts';
import type { IngestItem } from '../../src/ports/store.ts';
import type { StreamAnswer, SubmitStream, SubmitStreamResponseMessage } from '../../src/grpc/index.ts';
import { failureOf, grpcFixture, until, voice } from './helpers.ts';

async function collect(stream: SubmitStream): Promise<StreamAnswer[]> {
  const out: StreamAnswer[] = [];
  for await (const a of stream.answers()) out.push(a);
  return out;
}

/** Answers until the stream fails, and the failure. */
async function collectUntilError(stream: SubmitStream) {
  const answers: StreamAnswer[] = [];
  const error = await failureOf(
    (async () => {
      for await (const a of stream.answers()) answers.push(a);
    })(),
  );
  return { answers, error };
}

describe('SubmitStream', () => {
  it('answers every record after its commit, in the order sent', async () => {
    const { client, store } = await grpcFixture();
    const stream = client.submitStream();
    const seenStored: boolean[] = [];
    const answers: StreamAnswer[] = [];
    const reading = (async () => {
      for await (const a of stream.answers()) {
        answers.push(a);
        // The answer comes after the commit: the record is already readable.
        if (a.result.status === 'accepted') seenStored.push((await store.getRecord('voice-platform', a.result.id!)) !== undefined);
      }
    })();
    for (let i = 0; i < 60; i++) stream.send(voice({ id: `s-${i}` }, { duration_s: i === 7 ? 0 : 61 }));
    stream.end();
    await reading;
    expect(answers.map((a) => a.sequence)).toEqual([...Array(60).keys()]);
    expect(answers.map((a) => a.result.index)).toEqual([...Array(60).keys()]);
    expect(answers.map((a) => a.result.id)).toEqual([...Array(60).keys()].map((i) => `s-${i}`));
    expect(answers[7].result).toMatchObject({ status: 'skipped', code: 'ZERO_DURATION' });
    expect(answers.filter((a) => a.result.status === 'accepted')).toHaveLength(59);
    expect(seenStored.every(Boolean)).toBe(true);
    expect(answers[0].rulesetVersion).toMatch(/^sha256:/);
  });

  it('answers a record sent twice in one stream as accepted, then duplicate; other content as conflict', async () => {
    const { client } = await grpcFixture();
    const stream = client.submitStream();
    stream.send(voice({ id: 'twice' }));
    stream.send(voice({ id: 'twice' }));
    stream.send(voice({ id: 'twice' }, { duration_s: 99 }));
    stream.end();
    const answers = await collect(stream);
    expect(answers.map((a) => a.result.status)).toEqual(['accepted', 'duplicate', 'conflict']);
  });

  it('answers a record with malformed JSON as one MALFORMED rejection and goes on', async () => {
    const { client, store } = await grpcFixture();
    const stream = client.submitStream();
    stream.send(voice({ id: 'before' }));
    stream.call.write({ record: { specversion: '1.0', id: 'broken', source: 'voice-platform', type: 'voice.call.completed', time: '2026-11-25T11:00:00Z', subject: 'acme', data_json: '{"duration_s": 61,}' } });
    stream.send(voice({ id: 'after' }));
    stream.end();
    const answers = await collect(stream);
    expect(answers.map((a) => a.result.status)).toEqual(['accepted', 'rejected', 'accepted']);
    expect(answers[1].result).toMatchObject({ source: 'voice-platform', id: 'broken' });
    expect(answers[1].result.errors).toEqual([{ code: 'MALFORMED', message: expect.stringMatching(/^record\.data_json is not valid JSON: .* at line 1, column 19 \(offset 18\)$/) }]);
    // Logged under its identity, like any rejection.
    expect((await store.listRejections({ id: 'broken' })).items[0].errors[0].code).toBe('MALFORMED');
  });

  it('answers a message without a record as a rejection of its own', async () => {
    const { client } = await grpcFixture();
    const stream = client.submitStream();
    stream.call.write({});
    stream.send(voice({ id: 'fine' }));
    stream.end();
    const answers = await collect(stream);
    expect(answers.map((a) => a.result.status)).toEqual(['rejected', 'accepted']);
    expect(answers[0].result.errors![0]).toMatchObject({ code: 'MALFORMED', message: expect.stringContaining('record is missing') });
  });

  it('ends with PERMISSION_DENIED at a record of a source the key may not send, after answering the ones before', async () => {
    const { client, store } = await grpcFixture();
    const stream = client.submitStream();
    stream.send(voice({ id: 'mine-1' }));
    stream.send(voice({ id: 'mine-2' }));
    stream.send(voice({ id: 'theirs', source: 'mobile-core' }));
    stream.send(voice({ id: 'mine-3' }));
    stream.end();
    const { answers, error } = await collectUntilError(stream);
    expect(answers.map((a) => a.result.id)).toEqual(['mine-1', 'mine-2']);
    expect(error.grpcStatusName).toBe('PERMISSION_DENIED');
    expect(error.code).toBe('BLH_ERR_FORBIDDEN');
    expect(error.details).toEqual({ sources: ['mobile-core'] });
    expect(await store.getRecord('voice-platform', 'mine-3')).toBeUndefined();
    expect((await store.listRejections({ source: 'mobile-core' })).items).toEqual([]);
  });

  it('ends with PERMISSION_DENIED, not OK, when the refused record is the last one before the client half-closes', async () => {
    const { client } = await grpcFixture();
    const stream = client.submitStream();
    stream.send(voice({ id: 'mine' }));
    stream.send(voice({ id: 'theirs', source: 'mobile-core' }));
    stream.end();
    const { answers, error } = await collectUntilError(stream);
    expect(answers.map((a) => a.result.id)).toEqual(['mine']);
    expect(error.grpcStatusName).toBe('PERMISSION_DENIED');
  });

  it('holds at most streamWindow records in flight, and stops reading while the client does not read its answers', async () => {
    let pending = 0;
    let maxPending = 0;
    let ingested = 0;
    const window = 8;
    const wrap = (s: SqliteStore): SqliteStore =>
      new Proxy(s, {
        get(target, prop, receiver) {
          if (prop === 'ingest') {
            return async (items: readonly IngestItem[]) => {
              pending += items.length;
              maxPending = Math.max(maxPending, pending);
              try {
                return await target.ingest(items);
              } finally {
                pending -= items.length;
                ingested += items.length;
              }
            };
          }
          const v = Reflect.get(target, prop, receiver);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    const { client, store } = await grpcFixture({ streamWindow: window, storeWrapper: wrap });
    const stream = client.submitStream();
    const total = 2000;
    // Read one answer, then stop reading (grpc-js clients only apply flow control once they have read).
    const first = new Promise<SubmitStreamResponseMessage>((resolve) =>
      stream.call.once('data', (m: SubmitStreamResponseMessage) => {
        stream.call.pause();
        resolve(m);
      }),
    );
    // Send everything: what the server does not read waits in the client.
    for (let i = 0; i < total; i++) stream.send(voice({ id: `bp-${i}` }));
    stream.end();
    expect((await first).sequence).toBe(0);
    let last = -1;
    await until(async () => {
      // Settled: nothing more is stored while nobody reads the answers.
      await new Promise((r) => setTimeout(r, 250));
      const settled = ingested === last;
      last = ingested;
      return settled;
    }, 20_000);
    expect(ingested).toBeGreaterThan(0);
    expect(ingested).toBeLessThan(total);
    const answers = await collect(stream);
    expect(answers).toHaveLength(total - 1);
    expect(answers.every((a, i) => a.sequence === i + 1 && a.result.status === 'accepted')).toBe(true);
    expect(maxPending).toBeLessThanOrEqual(window);
    expect(await store.getRecord('voice-platform', `bp-${total - 1}`)).toBeDefined();
  });

  it('judges a batch of records that arrive together in one store call', async () => {
    let calls = 0;
    const wrap = (s: SqliteStore): SqliteStore =>
      new Proxy(s, {
        get(target, prop, receiver) {
          if (prop === 'ingest') {
            return (items: readonly IngestItem[]) => {
              calls += 1;
              return target.ingest(items);
            };
          }
          const v = Reflect.get(target, prop, receiver);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    const { client } = await grpcFixture({ storeWrapper: wrap });
    const stream = client.submitStream();
    for (let i = 0; i < 200; i++) stream.send(voice({ id: `b-${i}` }));
    stream.end();
    expect(await collect(stream)).toHaveLength(200);
    expect(calls).toBeLessThan(200);
  });

  it('ends at once with OK for an empty stream', async () => {
    const { client } = await grpcFixture();
    const stream = client.submitStream();
    stream.end();
    expect(await collect(stream)).toEqual([]);
  });
});
