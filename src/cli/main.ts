/**
 * Entry point of the `bilhetagem` binary: builds the program, registers every command, parses argv and
 * turns what happened into an exit code. The only place that reads argv or sets the process's exit code.
 * Commands are thin over the library; adding one is an import and a line in COMMANDS.
 */
import { Command, CommanderError } from 'commander';
import { BilhetagemError } from '../errors.ts';
import pkg from '../../package.json' with { type: 'json' };
import { ExitCodes, type CliContext } from './context.ts';
import * as validate from './commands/validate.ts';
import * as convert from './commands/convert.ts';
import * as lint from './commands/lint.ts';
import * as test from './commands/test.ts';
import * as explain from './commands/explain.ts';
import * as backtest from './commands/backtest.ts';
import * as serve from './commands/serve.ts';
import * as start from './commands/start.ts';
import * as worker from './commands/worker.ts';
import * as dlq from './commands/dlq.ts';
import * as replay from './commands/replay.ts';
import * as mockBiller from './commands/mock-biller.ts';
import * as keys from './commands/keys.ts';
import * as users from './commands/users.ts';
import * as backup from './commands/backup.ts';
import * as restore from './commands/restore.ts';
import * as prune from './commands/prune.ts';
import * as archive from './commands/archive.ts';
import * as configCheck from './commands/config-check.ts';
import * as recount from './commands/recount.ts';

interface CommandModule {
  register(program: Command, ctx: CliContext): void;
}

const COMMANDS: CommandModule[] = [start, serve, worker, keys, users, dlq, replay, mockBiller, validate, convert, explain, lint, test, backtest, configCheck, backup, restore, prune, recount, archive];

function buildProgram(ctx: CliContext): Command {
  const program = new Command('bilhetagem')
    .description('Validate, transform and check usage records against a ruleset (rules/ and mappings/).')
    .version(pkg.version, '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) })
    .exitOverride();
  program.addHelpText(
    'after',
    `
Options of every command come from flags, then environment variables, then ./bilhetagem.config.json
(or --config <file>), then defaults. Exit codes: 0 all good, 1 the data or the tests failed, 2 the command
could not run.

Example:
  $ bilhetagem lint && bilhetagem test && bilhetagem validate examples/records.ndjson`,
  );
  for (const c of COMMANDS) c.register(program, ctx);
  for (const c of program.commands) c.exitOverride().configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) });
  return program;
}

/** Runs the CLI on argv (without node and the script); resolves to the exit code. Never exits the process. */
async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version "exit" with 0; bad flags have been printed by commander already.
      return e.exitCode === 0 ? ExitCodes.OK : ExitCodes.ERROR;
    }
    if (e instanceof BilhetagemError) {
      ctx.stderr.write(`bilhetagem: ${e.message} [${e.code}]\n`);
      return ExitCodes.ERROR;
    }
    ctx.stderr.write(`bilhetagem: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`);
    return ExitCodes.ERROR;
  }
}

// A reader that goes away (`bilhetagem validate big.ndjson | head`) is not an error: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
  exitCode: 0,
});
// exitCode rather than exit(): stdout may still be draining into a pipe and must not be cut short.
process.exitCode = code;
