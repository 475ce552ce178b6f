/**
 * Every CLI option in one table: its flag, environment variable, config-file key, kind and default.
 * Precedence: flag > environment variable > bilhetagem.config.json (cwd, or --config <file>) > default.
 * Commands pick the options they take by name; the config file may hold any known key (one file serves
 * every command) and an unknown key is rejected by name. A later command adds its options here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { OptionsError } from '../errors.ts';
import { parseJsonFile } from '../core/ruleset/locate.ts';

type Kind = 'string' | 'path' | 'boolean' | 'integer' | 'choice';

interface OptionDef {
  flags: string;
  env: string;
  kind: Kind;
  description: string;
  default?: string | number | boolean;
  choices?: readonly string[];
}

export const OPTIONS = {
  rules: { flags: '--rules <dir>', env: 'BILHETAGEM_RULES', kind: 'path', default: './rules', description: 'rules folder (manifest.json, schemas, rules, reference, tests)' },
  mappings: { flags: '--mappings <dir>', env: 'BILHETAGEM_MAPPINGS', kind: 'path', default: './mappings', description: 'mappings folder (one sub-folder per target)' },
  now: { flags: '--now <time>', env: 'BILHETAGEM_NOW', kind: 'string', description: '"now" for time rules, RFC 3339 (default: the current time)' },
  format: { flags: '--format <format>', env: 'BILHETAGEM_FORMAT', kind: 'choice', choices: ['text', 'json'], default: 'text', description: 'output format' },
  inputFormat: {
    flags: '--input-format <format>',
    env: 'BILHETAGEM_INPUT_FORMAT',
    kind: 'choice',
    choices: ['ndjson', 'json', 'csv'],
    description: 'input format (default: from the extension, .ndjson/.jsonl/.json/.csv, optionally .gz; else sniffed)',
  },
  output: { flags: '-o, --output <file>', env: 'BILHETAGEM_OUTPUT', kind: 'path', description: 'where to write the output NDJSON ("-" for stdout)' },
  rejects: { flags: '--rejects <file>', env: 'BILHETAGEM_REJECTS', kind: 'path', description: 'where to write rejected records with their reasons, NDJSON (default: not written)' },
  target: { flags: '--target <name>', env: 'BILHETAGEM_TARGET', kind: 'string', description: "target whose mapping output is written, shown or compared (default: the ruleset's defaultTarget)" },
  denyWarnings: { flags: '--deny-warnings', env: 'BILHETAGEM_DENY_WARNINGS', kind: 'boolean', default: false, description: 'fail (exit 1) on warnings too' },
  coverage: { flags: '--coverage', env: 'BILHETAGEM_COVERAGE', kind: 'boolean', default: false, description: 'report which rules, conditions and mapping branches the tests exercised' },
  base: { flags: '--base <dir|ref>', env: 'BILHETAGEM_BASE', kind: 'string', description: 'the ruleset to compare with: a folder holding rules/ and mappings/ (or a rules folder), or a git ref' },
  baseMappings: { flags: '--base-mappings <dir>', env: 'BILHETAGEM_BASE_MAPPINGS', kind: 'path', description: 'mappings folder of the base, when --base is a rules folder (default: --mappings)' },
  samples: { flags: '--samples <n>', env: 'BILHETAGEM_SAMPLES', kind: 'integer', default: 5, description: 'sample records shown per change' },
  skuField: { flags: '--sku-field <path>', env: 'BILHETAGEM_SKU_FIELD', kind: 'string', default: 'sku', description: 'dotted path of the SKU in the mapping output (quantity totals)' },
  quantityField: { flags: '--quantity-field <path>', env: 'BILHETAGEM_QUANTITY_FIELD', kind: 'string', default: 'quantity', description: 'dotted path of the quantity in the mapping output' },
  progress: { flags: '--progress', env: 'BILHETAGEM_PROGRESS', kind: 'boolean', description: 'show a progress bar on stderr (default: when stderr is a terminal)' },
  // serve and keys (src/cli/commands/serve.ts, keys.ts)
  db: { flags: '--db <file>', env: 'BILHETAGEM_DB', kind: 'path', default: './data/bilhetagem.db', description: 'SQLite database file (created with its folder when missing)' },
  port: { flags: '--port <n>', env: 'BILHETAGEM_PORT', kind: 'integer', default: 8080, description: 'HTTP port to listen on (0: any free port)' },
  host: { flags: '--host <address>', env: 'BILHETAGEM_HOST', kind: 'string', default: '0.0.0.0', description: 'address to listen on' },
  logLevel: { flags: '--log-level <level>', env: 'BILHETAGEM_LOG_LEVEL', kind: 'choice', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', description: 'least severe level logged (JSON lines on stdout)' },
  watch: { flags: '--no-watch', env: 'BILHETAGEM_WATCH', kind: 'boolean', default: true, description: 'do not reload the ruleset when its files change (SIGHUP and POST /admin/ruleset/reload still do)' },
  bodyLimit: { flags: '--body-limit <bytes>', env: 'BILHETAGEM_BODY_LIMIT', kind: 'integer', default: 1048576, description: 'largest request body in bytes' },
  maxBatch: { flags: '--max-batch <n>', env: 'BILHETAGEM_MAX_BATCH', kind: 'integer', default: 1000, description: 'most records in one request' },
  rateLimit: { flags: '--rate-limit <n>', env: 'BILHETAGEM_RATE_LIMIT', kind: 'integer', default: 1000, description: 'requests per second per API key (0: no limit)' },
  rateBurst: { flags: '--rate-burst <n>', env: 'BILHETAGEM_RATE_BURST', kind: 'integer', description: 'requests an API key may send at once (default: twice --rate-limit)' },
  synchronous: { flags: '--synchronous <mode>', env: 'BILHETAGEM_SYNCHRONOUS', kind: 'choice', choices: ['FULL', 'EXTRA', 'NORMAL', 'OFF'], default: 'FULL', description: 'SQLite synchronous mode; only FULL and EXTRA make "accepted" mean on disk' },
  grpc: { flags: '--grpc <port>', env: 'BILHETAGEM_GRPC_PORT', kind: 'integer', description: 'also serve the gRPC API (proto/bilhetagem/v1) on this port (0: any free port)' },
  trustProxy: { flags: '--trust-proxy', env: 'BILHETAGEM_TRUST_PROXY', kind: 'boolean', default: false, description: 'trust X-Forwarded-* headers from a proxy in front' },
  // worker (src/cli/commands/worker.ts): the forwarder's tuning; the targets are the config file's "targets" section
  leaseMs: { flags: '--lease-ms <ms>', env: 'BILHETAGEM_LEASE_MS', kind: 'integer', default: 60000, description: 'how long a claim holds its outbox rows; must exceed twice every target timeoutMs' },
  pollIntervalMs: { flags: '--poll-interval-ms <ms>', env: 'BILHETAGEM_POLL_INTERVAL_MS', kind: 'integer', default: 1000, description: 'how often an idle target looks for due rows' },
  claimSize: { flags: '--claim-size <n>', env: 'BILHETAGEM_CLAIM_SIZE', kind: 'integer', default: 100, description: 'most outbox rows one claim takes' },
  metricsPort: { flags: '--metrics-port <n>', env: 'BILHETAGEM_METRICS_PORT', kind: 'integer', description: "serve the worker's Prometheus /metrics on this port (default: none)" },
  // scale-out: serve and worker on PostgreSQL and RabbitMQ (docs/guides/scaling-out.md)
  store: {
    flags: '--store <url|file>',
    env: 'BILHETAGEM_STORE',
    kind: 'string',
    description: 'where records live: a postgres:// URL (?schema=<name> for another schema than "bilhetagem") or a SQLite file (default: --db)',
  },
  queue: { flags: '--queue <url>', env: 'BILHETAGEM_QUEUE', kind: 'string', description: 'hand accepted records to RabbitMQ (amqp://user:password@host:5672/vhost); `worker --queue` delivers them (default: none)' },
  handoverMs: {
    flags: '--handover-ms <ms>',
    env: 'BILHETAGEM_HANDOVER_MS',
    kind: 'integer',
    default: 300000,
    description: 'with --queue: how long a record handed to the queue may wait for a worker before it is published again',
  },
  prefetch: { flags: '--prefetch <n>', env: 'BILHETAGEM_PREFETCH', kind: 'integer', default: 50, description: 'worker with --queue: messages it holds at once per target (its concurrency limit)' },
} as const satisfies Record<string, OptionDef>;

export type OptionName = keyof typeof OPTIONS;

type ValueOf<D> = D extends { kind: 'boolean' } ? boolean : D extends { kind: 'integer' } ? number : string;
type HasDefault<D> = D extends { default: unknown } ? true : false;
export type Resolved<K extends OptionName> = { [P in K]: HasDefault<(typeof OPTIONS)[P]> extends true ? ValueOf<(typeof OPTIONS)[P]> : ValueOf<(typeof OPTIONS)[P]> | undefined };

export const CONFIG_FILE = 'bilhetagem.config.json';
/** Config-file keys that hold a whole section (an object) rather than one option; read with configSection(). */
export const CONFIG_SECTIONS = ['targets'] as const;
export type ConfigSection = (typeof CONFIG_SECTIONS)[number];

/** A section of the config file (`targets`: the forwarder's targets), or undefined when the file or the key is absent. */
export function configSection(cmd: Command, section: ConfigSection, cwd: string): unknown {
  const file = loadConfigFile(cmd.opts().config as string | undefined, cwd);
  return file && Object.hasOwn(file.values, section) ? file.values[section] : undefined;
}
const CONFIG_OPTION = { flags: '--config <file>', env: 'BILHETAGEM_CONFIG', description: `config file (default: ./${CONFIG_FILE} when it exists)` };

/** Adds the named options (and --config) to a command, each showing its env var and config key in --help. */
export function addOptions(cmd: Command, names: readonly OptionName[]): Command {
  for (const name of names) {
    const d: OptionDef = OPTIONS[name];
    const o = new Option(d.flags, `${d.description} [config: ${name}]`).env(d.env);
    if (d.choices) o.choices(d.choices);
    if (d.default !== undefined && d.kind !== 'boolean') o.default(d.default);
    cmd.addOption(o);
  }
  cmd.addOption(new Option(CONFIG_OPTION.flags, CONFIG_OPTION.description).env(CONFIG_OPTION.env));
  return cmd;
}

/**
 * The options' final values: flag or environment variable (commander reads both) over the config file
 * over the defaults. Paths from the config file are relative to the file's folder.
 */
export function resolveOptions<K extends OptionName>(cmd: Command, names: readonly K[], env: NodeJS.ProcessEnv, cwd: string): Resolved<K> {
  const opts = cmd.opts();
  const file = loadConfigFile(opts.config as string | undefined, cwd);
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const d: OptionDef = OPTIONS[name];
    const source = cmd.getOptionValueSource(name);
    let value: unknown;
    if (source === 'cli') value = opts[name];
    else if (source === 'env') value = d.kind === 'boolean' ? envFlag(env[d.env]) : opts[name];
    else if (file && Object.hasOwn(file.values, name)) value = d.kind === 'path' ? resolve(file.dir, file.values[name] as string) : file.values[name];
    else value = d.default;
    if (d.kind === 'integer' && value !== undefined && typeof value !== 'number') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new OptionsError(`${d.flags.split(' ')[0]} must be a whole number, got ${JSON.stringify(value)}`, { option: name });
      value = n;
    }
    out[name] = value;
  }
  return out as Resolved<K>;
}

/** Environment booleans: unset, "", "0", "false", "no" and "off" are false. */
function envFlag(v: string | undefined): boolean {
  return v !== undefined && !['', '0', 'false', 'no', 'off'].includes(v.trim().toLowerCase());
}

interface ConfigFile {
  path: string;
  dir: string;
  values: Record<string, unknown>;
}

/** The config file: --config, else ./bilhetagem.config.json when it exists (undefined when not), checked key by key. */
export function loadConfigFile(explicit: string | undefined, cwd: string): ConfigFile | undefined {
  const path = explicit ? resolve(cwd, explicit) : resolve(cwd, CONFIG_FILE);
  if (!explicit && !existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new OptionsError(`cannot read the config file ${path}: ${(cause as Error).message}`, { file: path });
  }
  const value = parseJsonFile(explicit ?? CONFIG_FILE, text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new OptionsError(`${path}: the config file must hold a JSON object`, { file: path });
  const values = value as Record<string, unknown>;
  for (const [key, v] of Object.entries(values)) {
    if (key === '$schema' || (CONFIG_SECTIONS as readonly string[]).includes(key)) continue;
    if (!Object.hasOwn(OPTIONS, key)) {
      throw new OptionsError(`${path}: unknown key "${key}" (known: ${Object.keys(OPTIONS).join(', ')})`, { file: path, key });
    }
    const d: OptionDef = OPTIONS[key as OptionName];
    const want = d.kind === 'boolean' ? 'boolean' : d.kind === 'integer' ? 'number' : 'string';
    const ok = typeof v === want && (d.kind !== 'integer' || (Number.isInteger(v) && (v as number) >= 0)) && (!d.choices || d.choices.includes(v as string));
    if (!ok) {
      const what = d.choices ? `one of ${d.choices.map((c) => JSON.stringify(c)).join(', ')}` : d.kind === 'integer' ? 'a whole number' : `a ${want}`;
      throw new OptionsError(`${path}: "${key}" must be ${what}, got ${JSON.stringify(v)}`, { file: path, key });
    }
  }
  return { path, dir: dirname(path), values };
}
