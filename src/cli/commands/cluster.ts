/**
 * `pgwarden cluster show`, `pgwarden cluster events [--since T]`, `pgwarden cluster stop|start|restart`.
 * Exit codes of show: 0 healthy, 1 with warnings, 2 when the cluster cannot be read.
 */
import type { Command } from 'commander';
import type { ClusterReport } from '../../api/cluster-view.js';
import type { ClusterEvent } from '../../store/types.js';
import type { ApiClient } from '../../client/api-client.js';
import { clientFrom, clientSetup, fail, poolNodes } from '../common.js';
import { renderCluster, renderTable } from '../render/table.js';

export function registerCluster(program: Command): void {
  const cluster = program.command('cluster').description('show the cluster and its history');

  cluster
    .command('show')
    .description('every member with its role, status, timeline and lag, then any warnings')
    .option('-c, --config <file>', 'node.yaml or the cluster file written by `pgwarden up`', 'pgwarden.yaml')
    .option('--json', 'machine-readable output')
    .option('-v, --verbose', 'also show the last HA decision of each agent, how each proxy routes to every node, clones in progress')
    .action(async (opts: { config: string; json?: boolean; verbose?: boolean }) => {
      const client = clientFrom(opts.config);
      const res = await client.get<ClusterReport>('/cluster').catch((err) => fail(err, 2));
      if (res.status !== 200) fail(new Error(JSON.stringify(res.body)), 2);
      const report = res.body;
      if (opts.json) console.log(JSON.stringify(report, null, 2));
      else console.log(renderCluster(report, { verbose: opts.verbose }));
      process.exitCode = report.warnings.length ? 1 : 0;
    });

  for (const op of ['stop', 'start', 'restart'] as const) {
    cluster
      .command(op)
      .description(
        op === 'stop'
          ? 'stop PostgreSQL on every node, standbys first and the primary last, with no failover (the cluster stays paused)'
          : op === 'start'
            ? 'start PostgreSQL on every node, the last leader first, then the standbys; then resume'
            : 'stop, then start: the same leader, no acknowledged commit lost',
      )
      .option('-c, --config <file>', 'node.yaml or the cluster file written by `pgwarden up`', 'pgwarden.yaml')
      .option('--timeout <seconds>', 'how long each step may take', '120')
      .option('--json', 'machine-readable output')
      .action(async (opts: { config: string; timeout: string; json?: boolean }) => {
        const { api: client, cfg } = clientSetup(opts.config);
        const timeoutMs = (Number(opts.timeout) || 120) * 1000;
        const steps = op === 'restart' ? (['stop', 'start'] as const) : ([op] as const);
        let report: ClusterReport | null = null;
        let reached = true;
        for (const step of steps) {
          const res = await client.post<{ error?: string }>(`/cluster/${step}`, {}).catch((err) => fail(err, 2));
          if (res.status !== 200) fail(new Error(`cluster ${step} refused: ${res.body.error ?? res.status}`), 1);
          ({ report, reached } = await settle(client, step, timeoutMs));
          if (!reached) break;
          if (step === 'start') await client.post('/resume', {}).catch((err) => fail(err, 2));
        }
        // Proxies are not stopped with the cluster; after a start each must route to every node again.
        const proxies = await proxyRows(cfg.proxies, op === 'stop' ? 0 : timeoutMs);
        if (op !== 'stop' && proxies.some((p) => !p.routesAll)) reached = false;
        const rows: ProgramRow[] = [...programRows(report!), ...proxies.map(({ routesAll: _, ...row }) => row)];
        if (opts.json) console.log(JSON.stringify({ operation: op, reached, leader: report!.leader, programs: rows }, null, 2));
        else {
          console.log(
            renderTable(
              ['Host', 'Node', 'Program', 'State'],
              rows.map((r) => [r.host, r.node, r.program, r.state]),
            ),
          );
          console.log(reached ? `\ncluster ${op}: done` : `\ncluster ${op}: not every program reached the wanted state within ${timeoutMs / 1000} s`);
        }
        process.exitCode = reached ? 0 : 1;
      });
  }

  cluster
    .command('events')
    .description('the cluster event log: role changes, failovers, restarts, rejoins')
    .option('-c, --config <file>', 'node.yaml or the cluster file written by `pgwarden up`', 'pgwarden.yaml')
    .option('-n, --limit <n>', 'how many of the newest events', '50')
    .option('--since <time>', 'only events from then on: an ISO time, or an age such as 30s, 15m, 2h, 1d')
    .option('--json', 'machine-readable output')
    .action(async (opts: { config: string; limit: string; since?: string; json?: boolean }) => {
      const client = clientFrom(opts.config);
      let since = '';
      try {
        since = opts.since === undefined ? '' : `&since=${encodeURIComponent(sinceTime(opts.since, Date.now()))}`;
      } catch (err) {
        fail(err, 2);
      }
      const res = await client.get<ClusterEvent[]>(`/events?limit=${Number(opts.limit) || 50}${since}`).catch((err) => fail(err, 2));
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

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: an ISO time as given, or an age (30s, 15m, 2h, 1d) before `now`, as an ISO time. */
export function sinceTime(text: string, now: number): string {
  const age = /^(\d+)([smhd])$/.exec(text);
  if (age) return new Date(now - Number(age[1]) * UNIT_MS[age[2]!]!).toISOString();
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(Date.parse(text))) return new Date(Date.parse(text)).toISOString();
  throw new Error(`--since: expected an ISO time (2026-11-30T17:00:00Z) or an age (30s, 15m, 2h, 1d), got "${text}"`);
}

interface ProgramRow {
  readonly host: string;
  readonly node: string;
  readonly program: 'agent' | 'postgresql' | 'proxy';
  readonly state: string;
}

/** A proxy's row: what it routes to, from its admin API. */
async function proxyRow(url: string): Promise<ProgramRow & { routesAll: boolean }> {
  const host = new URL(url).hostname;
  try {
    const rows = await poolNodes(url, 2000);
    const standbys = rows.filter((r) => r.role !== 'primary');
    const upStandbys = standbys.filter((r) => r.status === 'up').length;
    const primaryUp = rows.some((r) => r.role === 'primary' && r.status === 'up');
    const state = `running (${primaryUp ? 'primary up' : 'no primary up'}, ${upStandbys} of ${standbys.length} standbys up)`;
    return { host, node: '-', program: 'proxy', state, routesAll: primaryUp && upStandbys === standbys.length };
  } catch {
    return { host, node: '-', program: 'proxy', state: 'not answering', routesAll: false };
  }
}

/** Each proxy the file names, once all of them route to every node or after `waitMs`. */
async function proxyRows(urls: readonly string[], waitMs: number): Promise<(ProgramRow & { routesAll: boolean })[]> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const rows = await Promise.all(urls.map(proxyRow));
    if (rows.every((r) => r.routesAll) || Date.now() >= deadline) return rows;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** One row per host and program, as the field's monitor scripts print them. */
function programRows(report: ClusterReport): ProgramRow[] {
  return report.members.flatMap((m): ProgramRow[] => {
    const agent = m.status === '? unreachable' ? 'unreachable' : 'running';
    const pg = m.status === '* running' || m.status === 'running' ? `running (${m.role})` : m.status === '? unreachable' ? 'unknown' : 'stopped';
    return [
      { host: m.host, node: m.name, program: 'agent', state: agent },
      { host: m.host, node: m.name, program: 'postgresql', state: pg },
    ];
  });
}

/** Waits until every PostgreSQL is stopped (stop) or the leader and every streaming standby run (start). */
async function settle(client: ApiClient, step: 'stop' | 'start', timeoutMs: number): Promise<{ report: ClusterReport; reached: boolean }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.get<ClusterReport>('/cluster').catch(() => null);
    const report = res?.status === 200 ? res.body : null;
    const done =
      report !== null &&
      report.members.every((m) => (step === 'stop' ? m.status === 'stopped' : m.name === report.leader ? m.status === '* running' : m.status === 'running' && m.streaming));
    if (report && (done || Date.now() > deadline)) return { report, reached: done };
    if (!report && Date.now() > deadline) fail(new Error('the cluster could not be read'), 2);
    await new Promise((r) => setTimeout(r, 250));
  }
}
