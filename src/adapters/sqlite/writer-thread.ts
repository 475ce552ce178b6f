/**
 * The ingest writer thread: records, their outbox rows and logged rejections are written by a second
 * connection to the same file, owned by a worker thread, so the commit (an fsync with synchronous=FULL)
 * and the inserts no longer hold the event loop: the main thread parses and judges the next requests
 * while the previous group commits.
 *
 * It is group commit as in group-commit.ts, across a thread boundary: jobs queued before the next turn
 * of the event loop go to the thread as one batch; the thread runs it in one IMMEDIATE transaction, each
 * job in its own SAVEPOINT, and answers after the COMMIT returned. Only then are the callers' promises
 * settled, so "resolved" still means "on disk". While a batch commits the next one is collected and sent
 * (at most MAX_IN_FLIGHT batches wait for the thread; it commits them one after the other). A failed job
 * fails alone; a batch that cannot begin or commit fails every caller with BLH_ERR_STORE_WRITE, as in
 * group-commit.ts. The price: a lone call waits for two hops between threads on top of its commit, which
 * a caller with nothing else to do notices (bench/store-ingest.ts case (a)); a server, which parses and
 * judges the next requests meanwhile, gains the time the commits held its loop.
 *
 * The other writes of the store (claims, acks, admin) stay on the main connection. The two connections
 * of one process never wait for each other's lock: the writer is also a WriteGate, and the main group
 * commit runs its batch only between two batches of the thread (see group-commit.ts).
 *
 * The thread's code is plain JavaScript run with `eval`, so it needs no TypeScript loader and no file of
 * its own beside the bundle: it works the same from src/ (tsx, vitest) and from dist/.
 */
import { Worker } from 'node:worker_threads';
import { takeBatch } from './group-commit.js';
import { closeThread, THREAD_PRELUDE, threadError } from './thread-wire.js';
import type { WireError } from './thread-wire.js';
import type { GroupCommitStats, WriteGate } from './group-commit.js';

/**
 * One write, flat (one array of plain values is the cheapest thing to copy to a thread):
 * - an ingest call: INGEST, then per record the 11 values of RECORD_WRITES.insertRecord (source and id
 *   first, receivedAt last), the number of its outbox rows, and each row's target and body;
 * - a rejection to log: REJECTION, then the 7 values of RECORD_WRITES.insertRejection.
 */
export type ThreadJob = unknown[];
export const INGEST = 0;
export const REJECTION = 1;

/** What the thread answers for one ingest row: null when it was inserted, else the row that holds the identity. */
export type ExistingRow = null | [verdict: string, payloadHash: string, receivedAt: number];

export interface ThreadWriterOptions {
  driver: string;
  filename: string;
  busyTimeoutMs: number;
  /** The connection's settings (driver.ts connectionPragmas), applied as the thread opens it. */
  pragmas: string[];
  maxJobs: number;
  sql: { insertRecord: string; existingRecord: string; insertOutbox: string; insertRejection: string; addCount: string };
}

export interface ThreadWriter extends WriteGate {
  run(job: ThreadJob): Promise<unknown>;
  stats(): GroupCommitStats;
  /** Commits everything queued, then closes the thread's connection. */
  close(): Promise<void>;
}

interface Pending {
  job: ThreadJob;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Batches sent ahead: while the thread commits one, the next waits in its port, so the thread does not
 * sit idle while the answer travels back and the main thread gets round to sending more.
 */
const MAX_IN_FLIGHT = 2;

type Reply = { results: ({ ok: true; value: unknown } | { ok: false; error: WireError })[] } | { failed: WireError };

export function createThreadWriter(options: ThreadWriterOptions): ThreadWriter {
  let worker: Worker | undefined;
  let queue: Pending[] = [];
  /** Batches sent and not answered yet, oldest first (the thread answers in order). */
  const inFlight: Pending[][] = [];
  let scheduled = false;
  let closing: (() => void) | undefined;
  let waiters: (() => void)[] = [];
  const stats: GroupCommitStats = { transactions: 0, jobs: 0, largestBatch: 0, failedBatches: 0 };

  function start(): Worker {
    const w = new Worker(THREAD_SOURCE, {
      eval: true,
      // The thread runs plain JavaScript: no loader, no profiler flags of the parent.
      execArgv: [],
      workerData: { driver: options.driver, filename: options.filename, busyTimeoutMs: options.busyTimeoutMs, pragmas: options.pragmas, sql: options.sql },
    });
    w.on('message', (reply: Reply) => settle(reply));
    w.on('error', () => {
      // 'exit' follows and fails what was in flight.
    });
    w.on('exit', () => {
      if (worker !== w) return;
      worker = undefined;
      for (const jobs of inFlight.splice(0)) {
        stats.failedBatches += 1;
        fail(jobs, { message: 'the store writer thread stopped; whether this batch was committed is unknown' });
      }
      afterBatch();
    });
    w.unref();
    return w;
  }

  /** More batches may be sent: the next one is collected until the loop's next turn. */
  function schedule(): void {
    if (scheduled || queue.length === 0 || inFlight.length >= MAX_IN_FLIGHT || waiters.length > 0) return;
    scheduled = true;
    setImmediate(send);
  }

  function send(): void {
    scheduled = false;
    // Writes of the main connection waiting for the gate go first: no new batch until they have run.
    if (queue.length === 0 || inFlight.length >= MAX_IN_FLIGHT || waiters.length > 0) return;
    const jobs = takeBatch(queue, options.maxJobs, stats);
    queue = queue.length > jobs.length ? queue.slice(jobs.length) : [];
    inFlight.push(jobs);
    worker ??= start();
    worker.ref();
    const message: ThreadJob[] = new Array(jobs.length);
    for (let i = 0; i < jobs.length; i++) message[i] = jobs[i].job;
    worker.postMessage(message);
    schedule();
  }

  function settle(reply: Reply): void {
    const jobs = inFlight.shift()!;
    if ('failed' in reply) {
      stats.failedBatches += 1;
      fail(jobs, reply.failed);
    } else {
      reply.results.forEach((result, i) => {
        if (result.ok) jobs[i].resolve(result.value);
        else jobs[i].reject(threadError('A write failed and was rolled back', result.error));
      });
    }
    afterBatch();
  }

  function fail(jobs: Pending[], error: WireError): void {
    const failure = threadError(`A write transaction of ${jobs.length} call(s) failed; none of them was committed`, error);
    for (const p of jobs) p.reject(failure);
  }

  function afterBatch(): void {
    if (inFlight.length === 0 && waiters.length > 0) {
      // The main connection's writes waited for the thread: they run now, before its next batch.
      const ready = waiters;
      waiters = [];
      for (const fn of ready) fn();
    }
    schedule();
    if (inFlight.length === 0 && queue.length === 0) {
      worker?.unref();
      closing?.();
    }
  }

  return {
    run(job) {
      return new Promise((resolve, reject) => {
        queue.push({ job, resolve, reject });
        schedule();
      });
    },

    get busy() {
      return inFlight.length > 0;
    },

    whenFree(fn) {
      if (inFlight.length > 0) waiters.push(fn);
      else fn();
    },

    stats: () => ({ ...stats }),

    async close() {
      if (inFlight.length > 0 || queue.length > 0) {
        await new Promise<void>((resolve) => {
          closing = resolve;
          schedule();
        });
        closing = undefined;
      }
      const w = worker;
      if (!w) return;
      worker = undefined;
      await closeThread(w);
    },
  };
}

/**
 * One ingest job's inserts, as JavaScript text: the thread compiles it with its own statements, and a store
 * without a thread (in memory) compiles the same text (compileIngestLoop), so the two cannot drift apart.
 * Per record: insert it (RETURNING seq only when inserted) and its outbox rows, or read the row that holds
 * its identity; then the records inserted are counted by verdict (counts.ts). Answers one ExistingRow per record.
 */
const INGEST_LOOP = `(insertRecord, existingRecord, insertOutbox, addCount) => (job) => {
  const out = [];
  const counts = new Map();
  let i = 1;
  while (i < job.length) {
    const source = job[i];
    const id = job[i + 1];
    const receivedAt = job[i + 10];
    const inserted = insertRecord.get(source, id, job[i + 2], job[i + 3], job[i + 4], job[i + 5], job[i + 6], job[i + 7], job[i + 8], job[i + 9], receivedAt);
    const outputs = job[i + 11];
    i += 12;
    if (inserted === undefined) out.push(existingRecord.get(source, id));
    else {
      out.push(null);
      counts.set(job[i - 6], (counts.get(job[i - 6]) || 0) + 1);
      for (let k = 0; k < outputs; k++) insertOutbox.run(inserted.seq, source, id, job[i + 2 * k], job[i + 2 * k + 1], receivedAt, receivedAt);
    }
    i += 2 * outputs;
  }
  for (const [verdict, n] of counts) addCount.run('records', verdict, '', n);
  return out;
}`;

interface Statement {
  get(...params: unknown[]): unknown;
  run(...params: unknown[]): unknown;
}

/** One logged rejection (its row's values), counted (counts.ts); as text, like INGEST_LOOP, for the same two users. */
const REJECT_ONE = `(insertRejection, addCount) => (row) => {
  insertRejection.run(row);
  addCount.run('rejections', '', '', 1);
  return null;
}`;

/** The thread's rejection write, on the caller's statements: for a store without a thread. */
export function compileRejectOne(insertRejection: Statement, addCount: Statement): (row: unknown[]) => null {
  const make = new Function(`return ${REJECT_ONE};`)() as (a: Statement, b: Statement) => (row: unknown[]) => null;
  return make(insertRejection, addCount);
}

/** The thread's ingest loop, on the caller's statements (existingRecord in raw mode): for a store without a thread. */
export function compileIngestLoop(insertRecord: Statement, existingRecord: Statement, insertOutbox: Statement, addCount: Statement): (job: ThreadJob) => ExistingRow[] {
  const make = new Function(`return ${INGEST_LOOP};`)() as (a: Statement, b: Statement, c: Statement, d: Statement) => (job: ThreadJob) => ExistingRow[];
  return make(insertRecord, existingRecord, insertOutbox, addCount);
}

/**
 * The thread. A batch is an array of jobs; the answer is one result per job, or `failed` when the
 * transaction as a whole could not begin or commit (then nothing of it was committed).
 */
const THREAD_SOURCE = `${THREAD_PRELUDE}let db;
let openError;
let inBatch;
try {
  const Database = require(workerData.driver);
  db = new Database(workerData.filename, { timeout: workerData.busyTimeoutMs });
  for (const pragma of workerData.pragmas) db.pragma(pragma);
  const sql = workerData.sql;
  const insertRecord = db.prepare(sql.insertRecord);
  const existingRecord = db.prepare(sql.existingRecord).raw();
  const insertOutbox = db.prepare(sql.insertOutbox);
  const insertRejection = db.prepare(sql.insertRejection);
  const addCount = db.prepare(sql.addCount);
  const ingest = (${INGEST_LOOP})(insertRecord, existingRecord, insertOutbox, addCount);
  const reject = (${REJECT_ONE})(insertRejection, addCount);
  const inSavepoint = db.transaction((job) => (job[0] === 0 ? ingest(job) : reject(job.slice(1))));
  inBatch = db.transaction((jobs) =>
    jobs.map((job) => {
      try {
        return { ok: true, value: inSavepoint(job) };
      } catch (error) {
        if (!db.inTransaction) throw error;
        return { ok: false, error: wire(error) };
      }
    }),
  );
} catch (error) {
  openError = wire(error);
  try { if (db) db.close(); } catch {}
  db = undefined;
}
parentPort.on('message', (jobs) => {
  if (jobs === 'close') {
    if (db) db.close();
    parentPort.close();
    return;
  }
  if (openError) return parentPort.postMessage({ failed: openError });
  let reply;
  try {
    reply = { results: inBatch.immediate(jobs) };
  } catch (error) {
    reply = { failed: wire(error) };
  }
  parentPort.postMessage(reply);
});
`;
