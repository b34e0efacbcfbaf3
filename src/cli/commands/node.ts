/**
 * `pgwarden node detach|attach NAME`: the node's place in every proxy's read balancing.
 * `pgwarden node remove NAME [--purge]` / `node readmit NAME`: a node leaves the cluster for good
 * (a tombstone keeps its agent from rejoining by mistake), or may come back.
 * `pgwarden node add [NAME]`: on a `pgwarden up` cluster, asks the running process for one more
 * local node, then follows its clone (a progress bar on a terminal, plain lines otherwise) until
 * it streams. A clone that fails is undone: the node is forgotten and the cluster is as it was.
 * On real hosts a node is added by starting its agent (README: Adding a host).
 */
import type { Command } from 'commander';
import type { ClusterReport, MemberRow } from '../../api/cluster-view.js';
import { ApiClient } from '../../client/api-client.js';
import { parseNodeReport } from '../../client/node-report.js';
import type { ClusterEvent } from '../../store/types.js';
import { systemClock } from '../../util/clock.js';
import { waitFor } from '../../util/deadline.js';
import { clientFrom, clientSetup, confirmed, fail } from '../common.js';
import { Progress } from '../render/progress.js';
import { formatBytes } from '../render/table.js';

interface AddResult {
  readonly name: string;
  readonly added: boolean;
  readonly upstream: string | null;
  readonly seconds: number;
  readonly cloned: string | null;
  readonly error: string | null;
}

export function registerNode(program: Command): void {
  const node = program.command('node').description('operator actions on one node: add, detach, attach');
  for (const action of ['detach', 'attach'] as const) {
    node
      .command(`${action} <node>`)
      .description(action === 'detach' ? 'take a node out of read load balancing in every proxy' : 'put a detached node back into load balancing')
      .option('-c, --config <file>', 'node.yaml or the cluster file written by `pgwarden up`', 'pgwarden.yaml')
      .option('--json', 'machine-readable output')
      .action(async (name: string, opts: { config: string; json?: boolean }) => {
        const client = clientFrom(opts.config);
        const res = await client.post<{ node?: string; error?: string }>(`/nodes/${encodeURIComponent(name)}/${action}`, {}).catch((err) => fail(err, 2));
        if (res.status !== 200) fail(new Error(`${action} refused: ${res.body.error ?? res.status}`), 1);
        console.log(opts.json ? JSON.stringify(res.body) : `${res.body.node} ${action}ed; every proxy follows within a second`);
      });
  }
  node
    .command('remove <name>')
    .description('take a standby out of the cluster: its PostgreSQL stops, its slots go, proxies forget it; the leader is refused')
    .option('-c, --config <file>', 'node.yaml or the cluster file written by `pgwarden up`', 'pgwarden.yaml')
    .option('--purge', 'also delete its data directory')
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: { config: string; purge?: boolean; yes?: boolean; json?: boolean }) => {
      const { cfg, token, api, named } = clientSetup(opts.config);
      const question = `remove ${name} from the cluster${opts.purge ? ' and delete its data directory' : ''}? type its name to confirm: `;
      if (!opts.yes && !process.stdin.isTTY) fail(new Error('not a terminal: add --yes to confirm'), 2);
      if (!opts.yes && !(await confirmed(question, name))) fail(new Error('not confirmed; nothing was changed'), 1);
      const before = await api.get<ClusterReport>('/cluster').catch((err) => fail(err, 2));
      const member = before.status === 200 ? before.body.members.find((m) => m.name === name || String(m.id) === name) : undefined;
      const res = await api.post<{ node?: string; error?: string }>(`/nodes/${encodeURIComponent(name)}/remove`, {}).catch((err) => fail(err, 2));
      if (res.status !== 200 || !res.body.node) fail(new Error(`node remove refused: ${res.body.error ?? res.status}`), 1);
      const removed = res.body.node;
      // Its agent stops PostgreSQL within a loop; only an API the configuration names is asked.
      const own = member ? named(member.api_url) : null;
      const stopped = own ? await waitStopped(own) : null;
      let purged: string | null = null;
      if (cfg.up) {
        const up = await new ApiClient([cfg.up], token, 60_000)
          .delete<{ error?: string }>(`/nodes/${encodeURIComponent(removed)}${opts.purge ? '?purge=1' : ''}`)
          .catch((err) => fail(err, 1));
        if (up.status !== 200) fail(new Error(`removed from the cluster, but pgwarden up could not drop it: ${up.body.error ?? up.status}`), 1);
        purged = opts.purge ? 'its files' : null;
      } else if (opts.purge) {
        if (!own) fail(new Error(`removed; not purged: ${removed}'s API is not among the endpoints of ${opts.config}; delete its data directory on its host`), 1);
        const p = await own.post<{ purged?: string; error?: string }>('/purge', {}).catch((err) => fail(err, 1));
        if (p.status !== 200) fail(new Error(`removed; not purged: ${p.body.error ?? p.status}`), 1);
        purged = p.body.purged ?? null;
      }
      if (opts.json) console.log(JSON.stringify({ removed, postgres_stopped: stopped, purged }));
      else
        console.log(
          `${removed} removed: ${stopped === false ? 'its PostgreSQL still runs (its agent stops it)' : 'its PostgreSQL is stopped'}; ${purged ? `deleted ${purged}` : 'its data directory is kept'}`,
        );
    });

  node
    .command('readmit <name>')
    .description('let a removed node back: its agent registers again and rejoins')
    .option('-c, --config <file>', 'node.yaml or the cluster file written by `pgwarden up`', 'pgwarden.yaml')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: { config: string; json?: boolean }) => {
      const res = await clientFrom(opts.config)
        .post<{ node?: string; error?: string }>(`/nodes/${encodeURIComponent(name)}/readmit`, {})
        .catch((err) => fail(err, 2));
      if (res.status !== 200) fail(new Error(`readmit refused: ${res.body.error ?? res.status}`), 1);
      console.log(opts.json ? JSON.stringify(res.body) : `${name} readmitted: its agent registers again and rejoins`);
    });

  node
    .command('add [name]')
    .description('pgwarden up clusters: add a local node (default name: the next nodeN); returns once it streams')
    .option('-c, --config <file>', 'the cluster file written by `pgwarden up`', 'pgwarden.yaml')
    .option('--timeout <seconds>', 'give up (and undo the add) after this long', '3600')
    .option('--json', 'machine-readable output')
    .action(async (name: string | undefined, opts: { config: string; timeout: string; json?: boolean }) => {
      const { cfg, token, api } = clientSetup(opts.config);
      if (!cfg.up)
        fail(new Error(`${opts.config} is not the cluster file of a running \`pgwarden up\`; on real hosts, add a node by starting its agent (README: Adding a host)`), 2);
      const control = new ApiClient([cfg.up], token, 60_000);
      const started = systemClock.wall();
      const res = await control.post<{ name?: string; error?: string }>('/nodes', name === undefined ? {} : { name }).catch((err) => fail(err, 2));
      if (res.status !== 201 || !res.body.name) fail(new Error(`node add refused: ${res.body.error ?? res.status}`), 1);
      const added = res.body.name;
      const result = await follow(api, added, started, Number(opts.timeout) * 1000, !opts.json);
      if (!result.added) await control.delete(`/nodes/${encodeURIComponent(added)}?purge=1`).catch(() => undefined);
      if (opts.json) console.log(JSON.stringify(result));
      else if (result.added) console.log(`${added} added in ${result.seconds} s: streams from ${result.upstream}${result.cloned ? ` (${result.cloned})` : ''}`);
      else console.error(`pgwarden: node add failed: ${result.error}; ${added} was removed again, the cluster is as it was`);
      process.exitCode = result.added ? 0 : 1;
    });
}

/** Follows the new member until it streams, its clone fails, or the deadline passes. */
async function follow(api: ApiClient, name: string, startedMs: number, timeoutMs: number, show: boolean): Promise<AddResult> {
  const progress = new Progress();
  const since = new Date(startedMs).toISOString();
  const end = (r: Omit<AddResult, 'name' | 'seconds'>): AddResult => {
    progress.done();
    return { name, seconds: Math.round((systemClock.wall() - startedMs) / 100) / 10, ...r };
  };
  for (;;) {
    const events = await api.get<ClusterEvent[]>('/events?limit=200').catch(() => null);
    const mine = (events?.status === 200 ? events.body : []).filter((e) => e.node === name && e.at >= since);
    const failed = mine.find((e) => e.kind === 'clone_failed');
    if (failed) return end({ added: false, upstream: null, cloned: null, error: failed.message });
    const cloned = mine.find((e) => e.kind === 'cloned')?.message.match(/cloned (.+?) from/)?.[1] ?? null;
    const report = await api.get<ClusterReport>('/cluster').catch(() => null);
    const m = report?.status === 200 ? report.body.members.find((r) => r.name === name) : undefined;
    if (m && m.status === 'running' && m.streaming) return end({ added: true, upstream: m.upstream, cloned, error: null });
    if (systemClock.wall() - startedMs > timeoutMs) return end({ added: false, upstream: null, cloned, error: `it did not stream within ${timeoutMs / 1000} s` });
    if (show) progress.update(line(name, m));
    await systemClock.sleep(200);
  }
}

function line(name: string, m: MemberRow | undefined): string {
  const c = m?.clone;
  if (!c) return `${name}: ${m ? m.state : 'registering'}…`;
  const pct = c.total_bytes > 0 ? Math.floor((100 * c.done_bytes) / c.total_bytes) : 0;
  const bar = '#'.repeat(Math.floor(pct / 5)).padEnd(20, '.');
  return `${name}: cloning from ${c.from} [${bar}] ${pct}% ${formatBytes(c.done_bytes)} of ${formatBytes(c.total_bytes)}, ${formatBytes(c.rate_bytes_s)}/s`;
}

/** Whether the node's PostgreSQL stopped within 30 s of its removal (its agent does it). */
function waitStopped(own: ApiClient): Promise<boolean> {
  // `running: false` alone also means "shutting down"; only a gone postmaster is stopped.
  const stopped = async () => {
    const r = parseNodeReport((await own.get('/status')).body);
    return r !== null && (r.postmaster === null ? !r.running : r.postmaster === 'stopped');
  };
  return waitFor('its PostgreSQL to stop', stopped, { timeoutMs: 30_000, intervalMs: 250 }).then(
    () => true,
    () => false,
  );
}
