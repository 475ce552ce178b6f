import type { Readable, Writable } from 'node:stream';

/** What a command may touch: the streams, the environment and the working directory, and its exit code. */
export interface CliContext {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** 0 all good; a command sets 1 when the data or the tests failed. Errors thrown become 2 in main. */
  exitCode: number;
}

/** Exit codes of every command. */
export const ExitCodes = {
  OK: 0,
  /** The data or the tests failed: rejected records, a failing test, lint errors. */
  FAILED: 1,
  /** The command could not run: bad flags, an unreadable file, a bad ruleset. */
  ERROR: 2,
} as const;

export function markFailed(ctx: CliContext): void {
  ctx.exitCode = Math.max(ctx.exitCode, ExitCodes.FAILED);
}
