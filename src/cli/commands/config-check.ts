/**
 * `bilhetagem config check`: checks the whole configuration — ruleset, targets and their secrets, store,
 * queue, retention — and prints what would run, starting nothing. `serve` runs the same check first
 * (`preflight` below) and refuses to start on an error, naming the field.
 */
import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { assertConfigOk, checkConfig, describeConfigReport } from '../../ops/config-check.ts';
import type { ConfigReport, ConfigUnderCheck } from '../../ops/config-check.ts';
import { defaultArchiveDir } from '../../ops/prune.ts';
import { addOptions, loadConfigFile, resolveOptions } from '../config.ts';
import { markFailed } from '../context.ts';
import type { CliContext } from '../context.ts';
import { println, printJson } from '../output.ts';
import { storeSpec } from '../store.ts';

// store and queue as serve takes them: flag, environment or config file.
const OPTIONS = ['db', 'rules', 'mappings', 'synchronous', 'host', 'port', 'format', 'store', 'queue'] as const;

/** What the check needs from the command line, environment and config file. */
export interface CheckInput {
  db: string;
  rules: string;
  mappings: string;
  synchronous?: string;
  host?: string;
  port?: number;
  /** A PostgreSQL URL (`?schema=` names the schema) or a SQLite file; when set it is the store instead of --db. */
  store?: string;
  /** A RabbitMQ URL. */
  queue?: string;
  /** Retention age (`90d`); unset: retention off. */
  retention?: string;
  archive?: string;
  /** --config, when given. */
  config?: string;
}

export function register(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('the configuration (flags, environment, bilhetagem.config.json)');
  const cmd = config
    .command('check')
    .description('check the whole configuration and print what would run, without starting anything');
  addOptions(cmd, OPTIONS);
  addRetentionOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Checks: the ruleset loads and compiles; every target is valid and every \${VAR} it uses is set; the store
can be opened (SQLite: read-only; PostgreSQL: connect and read the schema version) and is not from a newer
release; the queue answers; retention makes sense. Every problem names its field. Exit 0 when there are no
errors (warnings are printed), 1 when there are.

Example:
  $ bilhetagem config check
  $ LAGO_API_KEY=... bilhetagem config check --config /etc/bilhetagem/bilhetagem.config.json --format json`,
  );
  cmd.action(async () => {
    const o = resolveOptions(cmd, OPTIONS, ctx.env, ctx.cwd);
    const report = await checkConfig(toConfigUnderCheck(ctx, { ...o, ...retentionOptions(cmd), config: cmd.opts().config as string | undefined }), { env: ctx.env });
    if (!report.ok) markFailed(ctx);
    if (o.format === 'json') return printJson(ctx.stdout, report);
    for (const line of describeConfigReport(report)) println(ctx.stdout, line);
  });
}

/** Retention, as serve, start and config check take it (flag or environment). */
export function addRetentionOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--retention <age>', 'archive and prune delivered records older than this (e.g. 90d); unset: keep everything').env('BILHETAGEM_RETENTION'))
    .addOption(new Option('--archive <dir>', 'where retention archives go (default: archive/ beside --db)').env('BILHETAGEM_ARCHIVE'));
}

export function retentionOptions(cmd: Command): { retention?: string; archive?: string } {
  const { retention, archive } = cmd.opts() as { retention?: string; archive?: string };
  return { ...(retention ? { retention } : {}), ...(archive ? { archive } : {}) };
}

export function toConfigUnderCheck(ctx: CliContext, input: CheckInput): ConfigUnderCheck {
  const file = loadConfigFile(input.config, ctx.cwd);
  // The store as serve opens it: --store (a postgres:// URL, its ?schema=, or a SQLite file), else --db.
  const spec = storeSpec(ctx, input);
  const db = spec.kind === 'sqlite' ? spec.filename : resolve(ctx.cwd, input.db);
  return {
    configFile: file?.path ?? null,
    rules: resolve(ctx.cwd, input.rules),
    mappings: resolve(ctx.cwd, input.mappings),
    store:
      spec.kind === 'postgres'
        ? { kind: 'postgres', connectionString: spec.connectionString, ...(spec.schema ? { schema: spec.schema } : {}) }
        : { kind: 'sqlite', filename: spec.filename, synchronous: input.synchronous },
    targets: file && Object.hasOwn(file.values, 'targets') ? file.values.targets : undefined,
    queue: input.queue ? { url: input.queue } : null,
    retention: input.retention ? { olderThan: input.retention, archiveDir: input.archive ? resolve(ctx.cwd, input.archive) : defaultArchiveDir(db) } : null,
    server: input.host !== undefined && input.port !== undefined ? { host: input.host, port: input.port } : null,
    fields: { sqlite: 'db', postgres: 'store', queue: 'queue' },
  };
}

/**
 * What `serve` runs before it starts anything: the same check, warnings on stderr, and on any error a
 * BLH_ERR_CONFIG_INVALID that names every bad field (main prints it and exits 2).
 */
export async function preflight(ctx: CliContext, input: CheckInput): Promise<ConfigReport> {
  const report = await checkConfig(toConfigUnderCheck(ctx, input), { env: ctx.env });
  for (const w of report.warnings) ctx.stderr.write(`bilhetagem: warning: ${w.field}: ${w.message}\n`);
  assertConfigOk(report);
  return report;
}
