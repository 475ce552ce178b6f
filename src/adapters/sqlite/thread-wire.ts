/** What the store's two threads (writer-thread.ts, reader-thread.ts) share: how an error crosses back to the main thread. */
import type { Worker } from 'node:worker_threads';
import { StoreWriteError } from '../../ports/errors.js';

/** A driver error as a thread sends it: its message and SQLite code. */
export interface WireError {
  message: string;
  code?: string;
}

/** The first lines of a thread's source (plain JavaScript): its port, its data, and `wire(error)`. */
export const THREAD_PRELUDE = `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const wire = (e) => ({ message: String((e && e.message) || e), code: e && typeof e.code === 'string' ? e.code : undefined });
`;

/** The driver's error as a thread sent it, wrapped like group-commit.ts wraps one: `${message}: ...`. */
export function threadError(message: string, error: WireError): StoreWriteError {
  const cause = Object.assign(new Error(error.message), error.code === undefined ? {} : { code: error.code });
  return new StoreWriteError(`${message}: ${error.message}`, cause, error.code === undefined ? {} : { sqliteCode: error.code });
}

/** Asks a thread to close its connection and resolves once it has exited; held until then, so a program awaiting it does not exit first. */
export function closeThread(w: Worker): Promise<void> {
  return new Promise<void>((resolve) => {
    w.once('exit', () => resolve());
    w.ref();
    w.postMessage('close');
  });
}
