/**
 * `bilhetagem worker --store ... --queue ...` for the scale test, run from source with tsx: the real
 * command, registered on a program of its own.
 */
import { Command } from 'commander';
import * as worker from '../../../src/cli/commands/worker.ts';
import type { CliContext } from '../../../src/cli/context.ts';

const ctx: CliContext = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd(), exitCode: 0 };

const program = new Command('bilhetagem').exitOverride();
worker.register(program, ctx);
await program.parseAsync(['worker', ...process.argv.slice(2)], { from: 'user' });
