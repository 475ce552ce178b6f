/**
 * `bilhetagem replay --from --to [--source] [--target]`: sends again the records delivered in a time range,
 * for a target that lost data. The rows go back to the outbox with their idempotency keys, so a target that
 * still has a record answers "already have it" and nothing is billed twice. The old receipt stays until the
 * target confirms again. A running forwarder (serve or worker) does the sending.
 */
import type { Command } from 'commander';
import { replayDelivered } from '../../forwarder/index.ts';
import { addOptions, resolveOptions } from '../config.ts';
import type { CliContext } from '../context.ts';
import { plural, printJson, println } from '../output.ts';
import { actor } from './dlq.ts';
import { withStore } from '../store.ts';

const OPTIONS = ['db', 'store', 'format'] as const;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('replay')
    .description('send again the records delivered in [--from, --to) (for a target that lost data); relies on the idempotency key')
    .requiredOption('--from <time>', 'delivered at or after this RFC 3339 time')
    .requiredOption('--to <time>', 'delivered before this RFC 3339 time')
    .option('--source <source>', 'only records of this source (product)')
    .option('--target <name>', 'only deliveries to this target');
  addOptions(cmd, OPTIONS);
  cmd.addHelpText('after', '\nExample:\n  $ bilhetagem replay --from 2026-11-24T00:00:00Z --to 2026-11-25T00:00:00Z --target lago');
  cmd.action(async (flags: { from: string; to: string; source?: string; target?: string }) => {
    const o = resolveOptions(cmd, OPTIONS, ctx.env, ctx.cwd);
    await withStore(ctx, o, false, async (store) => {
      const at = new Date();
      const requeued = await replayDelivered(store, flags, at);
      await store.appendAudit({ actor: actor(), action: 'replay', ...(flags.target ? { target: flags.target } : {}), after: { ...flags, requeued }, at });
      if (o.format === 'json') return printJson(ctx.stdout, { requeued, ...flags });
      println(
        ctx.stdout,
        requeued === 0
          ? 'nothing delivered in that range matches; nothing to replay'
          : `${plural(requeued, 'delivery', 'deliveries')} queued again; a running forwarder (serve or worker) sends them`,
      );
    });
  });
}
