/**
 * The reader thread: the admin panel's reads that count or search many rows (timeSeries over a window of a
 * million records takes about a second) run on a read-only connection owned by a worker thread, so they do
 * not hold the event loop that answers ingest requests meanwhile. WAL lets the thread read while the writers
 * write; each call's statements run in one read transaction, one snapshot.
 *
 * The thread starts on the first read (a store that never serves the panel never starts it), stays out of
 * the way of the process's exit while idle, and is started again if it stopped. Like the writer thread, its
 * code is plain JavaScript run with `eval`, so it works the same from src/ and from dist/.
 */
import { Worker } from 'node:worker_threads';
import type { SqliteContext } from './context.js';
import { closeThread, THREAD_PRELUDE, threadError } from './thread-wire.js';
import type { WireError } from './thread-wire.js';

/** One statement: its SQL (prepared once per thread) and its parameters (named, or positional). */
export interface ReadStatement {
  sql: string;
  params: Record<string, unknown> | unknown[];
}

export interface ReaderThread {
  /** Runs the statements in one read transaction; answers each one's rows (objects, as `.all()` gives them). */
  read(statements: ReadStatement[]): Promise<unknown[][]>;
  close(): Promise<void>;
}

type Reply = { id: number; rows: unknown[][] } | { id: number; error: WireError };

const THREAD_SOURCE = `${THREAD_PRELUDE}let db;
let openError;
let readAll;
try {
  const Database = require(workerData.driver);
  db = new Database(workerData.filename, { readonly: true, fileMustExist: true, timeout: workerData.busyTimeoutMs });
  // As the main connection: the GROUP BYs of a large window sort in memory, not in temporary files.
  db.pragma('temp_store = MEMORY');
  const prepared = new Map();
  const statement = (sql) => {
    let s = prepared.get(sql);
    if (!s) prepared.set(sql, (s = db.prepare(sql)));
    return s;
  };
  readAll = db.transaction((batch) => batch.map((q) => statement(q.sql).all(q.params)));
} catch (error) {
  openError = wire(error);
}
parentPort.on('message', (m) => {
  if (m === 'close') {
    if (db) db.close();
    parentPort.close();
    return;
  }
  if (openError) return parentPort.postMessage({ id: m.id, error: openError });
  try {
    parentPort.postMessage({ id: m.id, rows: readAll(m.batch) });
  } catch (error) {
    parentPort.postMessage({ id: m.id, error: wire(error) });
  }
});
`;

export function createReaderThread(options: { driver: string; filename: string; busyTimeoutMs: number }): ReaderThread {
  let worker: Worker | undefined;
  let nextId = 0;
  const waiting = new Map<number, { resolve: (rows: unknown[][]) => void; reject: (error: unknown) => void }>();

  function start(): Worker {
    const w = new Worker(THREAD_SOURCE, { eval: true, execArgv: [], workerData: options });
    w.on('message', (reply: Reply) => {
      const call = waiting.get(reply.id);
      if (call === undefined) return;
      waiting.delete(reply.id);
      if (waiting.size === 0) w.unref();
      if ('error' in reply) call.reject(readError(reply.error));
      else call.resolve(reply.rows);
    });
    w.on('error', () => {
      // 'exit' follows and fails what was asked.
    });
    w.on('exit', () => {
      if (worker !== w) return;
      worker = undefined;
      for (const call of waiting.values()) call.reject(readError({ message: 'the store reader thread stopped' }));
      waiting.clear();
    });
    w.unref();
    return w;
  }

  return {
    read(statements) {
      return new Promise((resolve, reject) => {
        const id = ++nextId;
        waiting.set(id, { resolve, reject });
        worker ??= start();
        // Held while a read is out: a program awaiting it must not exit first.
        worker.ref();
        worker.postMessage({ id, batch: statements });
      });
    },

    async close() {
      const w = worker;
      if (!w) return;
      worker = undefined;
      await closeThread(w);
      for (const call of waiting.values()) call.reject(readError({ message: 'the store was closed during the read' }));
      waiting.clear();
    },
  };
}

const readError = (error: WireError) => threadError('A read failed', error);

/**
 * Runs a batch of statements in one snapshot: on the reader thread when the store has one (a store in a file),
 * else on `db` in one read transaction (a store in memory has no second connection).
 */
export function batchReader(ctx: Pick<SqliteContext, 'db' | 'cached' | 'reader'>): (batch: ReadStatement[]) => Promise<unknown[][]> {
  const reader = ctx.reader;
  if (reader) return (batch) => reader.read(batch);
  const here = ctx.db.transaction((batch: ReadStatement[]) => batch.map((q) => ctx.cached(q.sql).all(q.params)));
  return async (batch) => here(batch);
}
