/**
 * `pgwarden node detach|attach NAME`: the node's place in every proxy's read balancing.
 * `pgwarden node add [NAME]`: on a `pgwarden up` cluster, asks the running process for one more
 * local node, then follows its clone (a progress bar on a terminal, plain lines otherwise) until
 * it streams. A clone that fails is undone: the node is forgotten and the cluster is as it was.
 * On real hosts a node is added by starting its agent (README: Adding a host).
 */
import type { Command } from 'commander';
import type { ClusterReport, MemberRow } from '../../api/cluster-view.js';
import { ApiClient } from '../../client/api-client.js';
import { loadClientConfig, readToken } from '../../config/index.js';
import type { ClusterEvent } from '../../store/types.js';
import { systemClock } from '../../util/clock.js';
import { clientFrom, fail } from '../common.js';
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
    .command('add [name]')
    .description('pgwarden up clusters: add a local node (default name: the next nodeN); returns once it streams')
    .option('-c, --config <file>', 'the cluster file written by `pgwarden up`', 'pgwarden.yaml')
    .option('--timeout <seconds>', 'give up (and undo the add) after this long', '3600')
    .option('--json', 'machine-readable output')
    .action(async (name: string | undefined, opts: { config: string; timeout: string; json?: boolean }) => {
      let api: ApiClient;
      let control: ApiClient;
      try {
        const cfg = loadClientConfig(opts.config);
        if (!cfg.up)
          throw new Error(`${opts.config} is not the cluster file of a running \`pgwarden up\`; on real hosts, add a node by starting its agent (README: Adding a host)`);
        const token = readToken(cfg, ['auth_token_file']);
        api = new ApiClient(cfg.endpoints, token);
        control = new ApiClient([cfg.up], token, 60_000);
      } catch (err) {
        fail(err, 2);
      }
      const started = systemClock.wall();
      const res = await control.post<{ name?: string; error?: string }>('/nodes', name === undefined ? {} : { name }).catch((err) => fail(err, 2));
      if (res.status !== 201 || !res.body.name) fail(new Error(`node add refused: ${res.body.error ?? res.status}`), 1);
      const added = res.body.name;
      const result = await follow(api, added, started, Number(opts.timeout) * 1000, !opts.json);
      if (!result.added) await control.delete(`/nodes/${encodeURIComponent(added)}`).catch(() => undefined);
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
    await systemClock.sleep(500);
  }
}

function line(name: string, m: MemberRow | undefined): string {
  const c = m?.clone;
  if (!c) return `${name}: ${m ? m.state : 'registering'}…`;
  const pct = c.total_bytes > 0 ? Math.floor((100 * c.done_bytes) / c.total_bytes) : 0;
  const bar = '#'.repeat(Math.floor(pct / 5)).padEnd(20, '.');
  return `${name}: cloning from ${c.from} [${bar}] ${pct}% ${formatBytes(c.done_bytes)} of ${formatBytes(c.total_bytes)}, ${formatBytes(c.rate_bytes_s)}/s`;
}
