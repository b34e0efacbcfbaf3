/**
 * `pgwarden switchover [--to NAME]`: a planned handover with no lost commit. The old primary stops
 * cleanly (its standbys receive every record), the target takes the lock once it holds the final
 * checkpoint, promotes, and the old primary follows it. Before stopping, the old primary drains:
 * proxies send it no new work and open transactions get up to --drain-timeout seconds to finish.
 * This command waits and reports progress.
 */
import type { Command } from 'commander';
import type { ClusterReport } from '../../api/cluster-view.js';
import type { ClusterEvent } from '../../store/types.js';
import { waitFor } from '../../util/deadline.js';
import { clientFrom, fail } from '../common.js';

export function registerSwitchover(program: Command): void {
  program
    .command('switchover')
    .description('hand the primary role to a standby without losing a commit')
    .option('-c, --config <file>', 'node.yaml or the cluster file written by `pgwarden up`', 'pgwarden.yaml')
    .option('--to <name>', 'the standby to promote (default: the healthiest)')
    .option('--drain-timeout <seconds>', "how long open transactions may run on before the old primary stops (default: the node's drain_timeout)")
    .option('--timeout <seconds>', 'how long to wait for the new primary', '60')
    .option('--json', 'machine-readable output')
    .action(async (opts: { config: string; to?: string; drainTimeout?: string; timeout: string; json?: boolean }) => {
      const drain = opts.drainTimeout === undefined ? undefined : Number(opts.drainTimeout);
      if (drain !== undefined && !(drain >= 0)) fail(new Error('--drain-timeout: expected seconds (a number >= 0)'), 2);
      const client = clientFrom(opts.config);
      const say = (s: string) => !opts.json && console.log(s);
      const body = { ...(opts.to ? { to: opts.to } : {}), ...(drain !== undefined ? { drain_timeout: drain } : {}) };
      const res = await client.post<{ from?: string; to?: string | null; error?: string }>('/switchover', body).catch((err) => fail(err, 2));
      if (res.status !== 202) fail(new Error(`switchover refused: ${res.body.error ?? res.status}`), 1);
      const from = res.body.from!;
      say(`switchover requested: ${from} -> ${res.body.to ?? '(healthiest standby)'}`);
      const started = Date.now();
      const report = await waitFor(
        `a new primary other than ${from}, with ${from} back as a streaming standby`,
        async () => {
          const r = (await client.get<ClusterReport>('/cluster')).body;
          if (r.leader === from && r.pending === null) {
            // The leader cleared the request without handing over: it refused, and said why.
            const events = (await client.get<ClusterEvent[]>('/events?limit=50')).body;
            const why = [...events].reverse().find((e) => e.kind === 'failover_cleared')?.message ?? 'the leader cleared the request';
            fail(new Error(why), 1);
          }
          if (!r.leader || r.leader === from) return false;
          const old = r.members.find((m) => m.name === from);
          return old?.role === 'standby' && old.status === 'running' && old.streaming ? r : false;
        },
        { timeoutMs: Number(opts.timeout) * 1000, intervalMs: 250 },
      ).catch((err) => fail(err, 1));
      const took = (Date.now() - started) / 1000;
      if (opts.json) console.log(JSON.stringify({ from, to: report.leader, seconds: took }));
      else say(`switchover done in ${took.toFixed(1)} s: ${report.leader} is the primary, ${from} streams from it`);
    });
}
