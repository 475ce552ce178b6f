/**
 * SubmitStream: records one by one, each answered after its own commit, in the order sent.
 *
 * Records that arrive together are judged and stored together (one store call, and group commit shares the
 * transaction with other calls), so a stream costs what batches cost. Two chains keep order: `gate` starts
 * the store calls in arrival order (so a record sent twice in one stream is accepted once, then duplicate),
 * `tail` writes answers in arrival order once their commit is done.
 *
 * Backpressure: at most `streamWindow` records are read and not yet answered; at the window, and while the
 * client does not read its answers, the server stops reading, and HTTP/2 flow control holds the client.
 *
 * A record that cannot be read (bad JSON) is one REJECTED answer (MALFORMED) and the stream goes on. What
 * ends a stream with a status — after every earlier record is answered — is what would refuse a whole
 * call: a record of a source the key may not send (PERMISSION_DENIED), a key revoked meanwhile
 * (UNAUTHENTICATED, checked again every `keyRecheckMs`), a store failure or the server stopping
 * (UNAVAILABLE). Records read after that point were not stored; resending them is safe (duplicates are
 * recognised).
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { Principal } from '../server/authenticate.ts';
import type { BodyItem } from '../server/body/parse-records.ts';
import { notReady } from '../server/errors.ts';
import { checkSources, judge, storeVerdicts } from '../server/ingest.ts';
import type { ItemResult } from '../server/ingest.ts';
import { badMessage, isUndecodable } from './batch-calls.ts';
import { admit, authenticate, beginCall, countMetrics, failure, logCall } from './context.ts';
import type { GrpcContext } from './context.ts';
import type { SubmitStreamRequestMessage, SubmitStreamResponseMessage } from './messages.ts';
import { readStreamItem, resultMessage } from './records.ts';

/** A stream the server can ask to finish (stop()). */
export interface StreamControl {
  drain(): void;
}

type Entry = { sequence: number; item: BodyItem } | { sequence: number; error: unknown };

interface Committed {
  results: Promise<ItemResult[]>;
  version: string;
  receivedAt: string;
}

export function submitStreamHandler(ctx: GrpcContext, method: string, streams: Set<StreamControl>) {
  return (call: ServerDuplexStream<SubmitStreamRequestMessage, Partial<SubmitStreamResponseMessage>>) => {
    const o = ctx.o;
    const log = beginCall(ctx, method, call.metadata);
    log.records = 0;
    let principal: Principal | undefined;
    let checkedAt = 0;
    let sequence = 0;
    let inFlight = 0;
    let queue: Entry[] = [];
    let flushScheduled = false;
    // Set inside the gate as soon as a batch fails: later batches are not judged or stored.
    let halted = false;
    let gate: Promise<unknown> = Promise.resolve();
    let tail: Promise<void> = Promise.resolve();
    let reading = false;
    let stopped = false; // no more reads: an error entry, a drain, or the end
    let halfClosed = false;
    let draining = false;
    let writeBlocked = false;
    let finished = false;
    // An error entry is on its way through the tail: the stream ends with it, never with OK.
    let failing = false;

    const control: StreamControl = {
      drain() {
        draining = true;
        stopReading();
        maybeFinish();
      },
    };
    streams.add(control);

    function finish(error?: unknown): void {
      if (finished) return;
      finished = true;
      streams.delete(control);
      stopReading();
      if (error === undefined) {
        call.end();
        logCall(ctx, log, undefined);
        return;
      }
      const status = failure(ctx, error, log.callId, method);
      logCall(ctx, log, status);
      call.emit('error', status);
    }

    function stopReading(): void {
      stopped = true;
      if (reading) {
        call.off('data', onData);
        call.pause();
        reading = false;
      }
    }

    function maybeResume(): void {
      if (stopped || finished || writeBlocked || inFlight >= o.streamWindow) return;
      call.resume();
    }

    function maybeFinish(): void {
      if (finished || failing || inFlight > 0 || queue.length > 0 || flushScheduled) return;
      if (halfClosed) finish();
      else if (draining) finish(notReady('the server is shutting down; every record answered before this is stored, resend the rest to another instance', 5));
    }

    function onData(message: unknown): void {
      if (stopped || finished) return;
      const seq = sequence++;
      log.records = sequence;
      let entry: Entry;
      if (isUndecodable(message)) entry = { sequence: seq, error: badMessage(message) };
      else {
        const item = readStreamItem((message as Partial<SubmitStreamRequestMessage>).record, seq, o.maxDepth);
        try {
          checkSources([item], principal!.scopes);
          entry = { sequence: seq, item };
        } catch (error) {
          entry = { sequence: seq, error };
        }
      }
      queue.push(entry);
      if ('error' in entry) {
        failing = true;
        stopReading();
      }
      else {
        inFlight += 1;
        if (inFlight >= o.streamWindow) call.pause();
      }
      if (!flushScheduled) {
        flushScheduled = true;
        // Every message grpc-js hands over in this turn goes into one batch.
        setImmediate(flush);
      }
    }

    function flush(): void {
      flushScheduled = false;
      while (queue.length > 0) {
        const head = queue[0];
        if ('error' in head) {
          queue.shift();
          const error = head.error;
          gate = gate.then(() => {
            halted = true;
          });
          tail = tail.then(() => finish(error));
          continue;
        }
        let n = 0;
        while (n < queue.length && n < o.maxBatch && !('error' in queue[n])) n++;
        submitBatch(queue.slice(0, n) as { sequence: number; item: BodyItem }[]);
        queue = queue.slice(n);
      }
      maybeFinish();
    }

    function submitBatch(entries: { sequence: number; item: BodyItem }[]): void {
      const items = entries.map((e) => e.item);
      const step = gate.then(async (): Promise<Committed | undefined> => {
        if (halted || finished) return undefined;
        try {
          const now = o.clock();
          if (now - checkedAt >= o.keyRecheckMs) {
            principal = await authenticate(ctx, call.metadata);
            checkedAt = now;
          }
          const pipeline = o.pipeline();
          if (!pipeline) throw notReady('no ruleset is loaded yet');
          const receivedAtMs = o.clock();
          const receivedAt = new Date(receivedAtMs);
          const verdicts = await judge(items, pipeline, receivedAtMs);
          const results = storeVerdicts({ store: o.store, keepRejectedPayloads: o.keepRejectedPayloads, scopes: principal!.scopes, outbox: o.outbox }, items, verdicts, receivedAt);
          // Awaited in order by the tail; until then a failure must not count as unhandled.
          results.catch(() => undefined);
          // Wrapped, so the gate moves on once the store call has started, not when it has committed.
          return { results, version: pipeline.version, receivedAt: receivedAt.toISOString() };
        } catch (error) {
          halted = true;
          throw error;
        }
      });
      gate = step.catch(() => undefined);
      tail = tail.then(async () => {
        if (finished) return;
        let committed: Committed | undefined;
        let results: ItemResult[];
        try {
          committed = await step;
          if (!committed) return;
          results = await committed.results;
        } catch (error) {
          halted = true;
          return finish(error);
        }
        if (finished) return;
        countMetrics(o, results);
        results.forEach((r, k) => {
          const seq = entries[k].sequence;
          const ok = call.write({ sequence: seq, result: resultMessage(r, seq) as SubmitStreamResponseMessage['result'], ruleset_version: committed.version, received_at: committed.receivedAt });
          if (!ok && !writeBlocked) {
            writeBlocked = true;
            call.pause();
            call.once('drain', () => {
              writeBlocked = false;
              maybeResume();
            });
          }
        });
        inFlight -= entries.length;
        maybeResume();
        maybeFinish();
      });
    }

    call.on('end', () => {
      halfClosed = true;
      stopped = true;
      maybeFinish();
    });
    call.on('cancelled', () => {
      // The client went away: nothing more can be answered. Records already stored stay stored.
      if (finished) return;
      finished = true;
      streams.delete(control);
      stopReading();
      logCall(ctx, log, { code: 1, details: 'cancelled by the client', metadata: new ctx.grpc.Metadata() });
    });

    admit(ctx, call.metadata).then(
      (p) => {
        principal = p;
        log.principal = p;
        checkedAt = o.clock();
        if (finished || stopped) return maybeFinish();
        reading = true;
        call.on('data', onData);
      },
      (error: unknown) => finish(error),
    );
  };
}
