/**
 * `pgwarden failover --to NAME [--force] [--yes]`: promote a named node in a cluster that has no
 * primary. Without --force the automatic rules still apply (the node must hold every acknowledged
 * commit). With --force the operator overrides them: the command first prints what may be lost
 * (the WAL between the node's position and the furthest one known) and asks for the node's name
 * as confirmation, or takes --yes.
 */
import type { Command } from 'commander';
import type { ClusterReport } from '../../api/cluster-view.js';
import type { FailoverPreview } from '../../api/failover-preview.js';
import { waitFor } from '../../util/deadline.js';
import { clientFrom, confirmed, fail } from '../common.js';

export function describePreview(p: FailoverPreview): string[] {
  const lines = [`${p.to} is at ${p.target_lsn ?? 'an unknown position'}.`];
  if (p.furthest && p.gap_bytes) {
    lines.push(
      `The furthest position known is ${p.furthest.lsn} (${p.furthest.name}, ${p.furthest.source}): at least ${p.gap_bytes} bytes of WAL beyond ${p.to}'s position, acknowledged commits among them, would be lost.`,
    );
  } else if (p.gap_bytes === 0) {
    lines.push(`No known position is ahead of ${p.to}; commits the old primary wrote after it last published its position (every loop_wait) may still be missing.`);
  }
  if (p.sync_members.length) lines.push(`Recorded synchronous set: ${p.sync_members.join(', ')}.`);
  if (p.refused_because) lines.push(`The automatic rules refuse it: ${p.to} ${p.refused_because}.`);
  return lines;
}

export function registerFailover(program: Command): void {
  program
    .command('failover')
    .description('promote a named node when the cluster has no primary (--force: even if it may lack acknowledged commits)')
    .option('-c, --config <file>', 'node.yaml or the cluster file written by `pgwarden up`', 'pgwarden.yaml')
    .requiredOption('--to <name>', 'the node to promote')
    .option('--force', 'override the rules that protect acknowledged commits (shows what may be lost first)')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--timeout <seconds>', 'how long to wait for the new primary', '60')
    .option('--json', 'machine-readable output')
    .action(async (opts: { config: string; to: string; force?: boolean; yes?: boolean; timeout: string; json?: boolean }) => {
      const client = clientFrom(opts.config);
      const say = (s: string) => !opts.json && console.log(s);
      const dry = await client.post<FailoverPreview & { error?: string }>('/failover', { to: opts.to, dry_run: true }).catch((err) => fail(err, 2));
      if (dry.status !== 200) fail(new Error(`failover refused: ${dry.body.error ?? dry.status}`), 1);
      const preview = dry.body;
      for (const line of describePreview(preview)) say(line);
      if (preview.refused_because && !opts.force) fail(new Error(`failover refused: ${opts.to} ${preview.refused_because}; rerun with --force to accept possible loss`), 1);
      if (opts.force && !opts.yes && !(await confirmed(`Promote ${opts.to} and accept this loss? Type its name to confirm: `, opts.to)))
        fail(new Error('not confirmed: nothing was changed (--yes confirms without a terminal)'), 1);

      const res = await client.post<{ error?: string }>('/failover', { to: opts.to, force: opts.force === true }).catch((err) => fail(err, 2));
      if (res.status !== 202) fail(new Error(`failover refused: ${res.body.error ?? res.status}`), 1);
      say(`failover requested: promoting ${opts.to}`);
      const started = Date.now();
      await waitFor(
        `${opts.to} to hold the leader lock and run as primary`,
        async () => {
          const r = (await client.get<ClusterReport>('/cluster')).body;
          return r.leader === opts.to && r.members.find((m) => m.name === opts.to)?.role === 'primary';
        },
        { timeoutMs: Number(opts.timeout) * 1000, intervalMs: 250 },
      ).catch((err) => fail(err, 1));
      const took = (Date.now() - started) / 1000;
      if (opts.json) console.log(JSON.stringify({ to: opts.to, forced: opts.force === true, preview, seconds: took }));
      else say(`failover done in ${took.toFixed(1)} s: ${opts.to} is the primary`);
    });
}
