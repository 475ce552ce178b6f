import { resolve } from 'node:path';
import type { Command } from 'commander';
import { readRulesetFiles } from '../../loaders/load-ruleset.ts';
import { lintFiles, formatProblem } from '../../lint/index.ts';
import { addOptions, resolveOptions } from '../config.ts';
import { displayPaths } from '../paths.ts';
import { plural, println, printJson, OK } from '../output.ts';
import { markFailed, type CliContext } from '../context.ts';

const OPTIONS = ['rules', 'mappings', 'format', 'denyWarnings'] as const;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program.command('lint').description('check every rules, schema, reference, mapping and test file, and what the rules and mappings read');
  addOptions(cmd, OPTIONS);
  cmd.addHelpText(
    'after',
    `
Prints "file:line:column: severity: message [check-id]" per problem (docs/reference/cli.md lists the checks).
Exit code: 0 no errors (and no warnings with --deny-warnings), 1 otherwise, 2 when the files cannot be read.

Example:
  $ bilhetagem lint --deny-warnings
  $ bilhetagem lint --rules ../other/rules --format json`,
  );
  cmd.action(async () => {
    const o = resolveOptions(cmd, OPTIONS, ctx.env, ctx.cwd);
    const files = await readRulesetFiles({ rules: resolve(ctx.cwd, o.rules), mappings: resolve(ctx.cwd, o.mappings) });
    const report = lintFiles(files);
    const show = displayPaths(ctx.cwd, o);
    if (o.format === 'json') {
      printJson(ctx.stdout, { ...report, problems: report.problems.map((p) => ({ ...p, file: show(p.file), rulesetFile: p.file })) });
    } else {
      for (const p of report.problems) println(ctx.stdout, formatProblem(p, show));
      println(
        ctx.stdout,
        report.problems.length
          ? `${plural(report.errors, 'error')}, ${plural(report.warnings, 'warning')} in ${plural(report.files, 'file')}`
          : `${OK} no problems in ${plural(report.files, 'file')}${report.rulesetVersion ? ` (ruleset ${report.rulesetVersion})` : ''}`,
      );
    }
    if (report.errors > 0 || (o.denyWarnings && report.warnings > 0)) markFailed(ctx);
  });
}
