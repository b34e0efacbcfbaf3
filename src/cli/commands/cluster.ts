/**
 * `pgwarden cluster show` and `pgwarden cluster events`.
 * Exit codes of show: 0 healthy, 1 with warnings, 2 when the cluster cannot be read.
 */
import type { Command } from 'commander';
import type { ClusterReport } from '../../api/cluster-view.js';
import type { ClusterEvent } from '../../store/types.js';
import { clientFrom, fail } from '../common.js';
import { renderCluster, renderTable } from '../render/table.js';

export function registerCluster(program: Command): void {
  const cluster = program.command('cluster').description('show the cluster and its history');

  cluster
    .command('show')
    .description('every member with its role, status, timeline and lag, then any warnings')
    .option('-c, --config <file>', 'node.yaml or the cluster file written by `pgwarden up`', 'pgwarden.yaml')
    .option('--json', 'machine-readable output')
    .option('-v, --verbose', 'also show the last HA decision of each agent')
    .action(async (opts: { config: string; json?: boolean; verbose?: boolean }) => {
      const client = clientFrom(opts.config);
      const res = await client.get<ClusterReport>('/cluster').catch((err) => fail(err, 2));
      if (res.status !== 200) fail(new Error(JSON.stringify(res.body)), 2);
      const report = res.body;
      if (opts.json) console.log(JSON.stringify(report, null, 2));
      else console.log(renderCluster(report, { verbose: opts.verbose }));
      process.exitCode = report.warnings.length ? 1 : 0;
    });

  cluster
    .command('events')
    .description('the cluster event log: role changes, failovers, restarts, rejoins')
    .option('-c, --config <file>', 'node.yaml or the cluster file written by `pgwarden up`', 'pgwarden.yaml')
    .option('-n, --limit <n>', 'how many of the newest events', '50')
    .option('--json', 'machine-readable output')
    .action(async (opts: { config: string; limit: string; json?: boolean }) => {
      const client = clientFrom(opts.config);
      const res = await client.get<ClusterEvent[]>(`/events?limit=${Number(opts.limit) || 50}`).catch((err) => fail(err, 2));
      if (res.status !== 200) fail(new Error(JSON.stringify(res.body)), 2);
      if (opts.json) console.log(JSON.stringify(res.body, null, 2));
      else
        console.log(
          renderTable(
            ['Time', 'Node', 'Event', 'Details'],
            res.body.map((e) => [e.at, e.node, e.kind, e.message]),
          ),
        );
    });
}
