/**
 * Runs one command module the way src/cli/main.ts does (same program settings, same mapping of errors to
 * exit codes), in process, with captured output: these commands are wired into main by the lead, so the
 * tests do not depend on the built binary.
 */
import { Readable, Writable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { BilhetagemError } from '../../src/errors.ts';
import { ExitCodes } from '../../src/cli/context.ts';
import type { CliContext } from '../../src/cli/context.ts';

export interface CommandModule {
  register(program: Command, ctx: CliContext): void;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCommand(module: CommandModule, argv: string[], o: { cwd: string; env?: Record<string, string> }): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  const ctx: CliContext = {
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    stdin: Readable.from([]),
    env: { ...o.env },
    cwd: o.cwd,
    exitCode: 0,
  };
  const program = new Command('bilhetagem')
    .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) })
    .exitOverride();
  module.register(program, ctx);
  // commander reads an option's environment variable from process.env itself, as in the real binary.
  const saved = Object.fromEntries(Object.keys(o.env ?? {}).map((k) => [k, process.env[k]]));
  Object.assign(process.env, o.env);
  let code: number;
  try {
    await program.parseAsync(argv, { from: 'user' });
    code = ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) code = e.exitCode === 0 ? ExitCodes.OK : ExitCodes.ERROR;
    else if (e instanceof BilhetagemError) {
      ctx.stderr.write(`bilhetagem: ${e.message} [${e.code}]\n`);
      code = ExitCodes.ERROR;
    } else throw e;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return { code, stdout, stderr };
}
