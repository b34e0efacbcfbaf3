/**
 * npm run bench:failover [-- --runs N] [-- --with-patroni] [-- --split-only]
 *
 * 3 nodes on a real etcd, ttl 10, loop_wait 1, retry_timeout 3. For each fault (postmaster
 * kill -9 of the primary; host crash of the primary = agent and every PostgreSQL process killed)
 * it times fault -> first committed write, by a writer that commits every 20 ms to whichever node
 * is writable. After a postmaster kill only a connection opened after the fault counts (an orphaned
 * backend of the killed postmaster could still commit); after a host crash only a write on another
 * node. Then the faults that leave PostgreSQL without its HA process (agent kill -9, agent frozen,
 * each for 2 × ttl) or frozen itself (2 × ttl): time to the first write on another node, the
 * split-brain window (the seconds during which a client that stayed connected to the old primary
 * still committed after another node took writes), and the longest time no node took a write. With --with-patroni the same faults run in the
 * same run on Patroni at its tightest valid timing (ttl 20, loop_wait 1, retry_timeout 3). The last
 * line is JSON.
 */
import { parseArgs } from 'node:util';
import { pgwardenTarget } from './pgwarden-target.js';
import { connect, longestGap, sqlRows, Writer } from '../test/support/workload.js';
import { waitFor } from '../src/util/deadline.js';
import { ensurePatroni, patroniCluster } from './patroni.js';
import { stats, type Stats } from './stats.js';
import { wholeNumbers } from './args.js';
import type { BenchTarget } from './target.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, 'with-patroni': { type: 'boolean', default: false }, 'split-only': { type: 'boolean', default: false } },
});
const splitOnly = values['split-only'];
const { runs } = wholeNumbers({ runs: values.runs });
const TTL = 10;

async function measure(t: BenchTarget, fault: 'postmaster_kill' | 'host_crash', n: number): Promise<number[]> {
  const out: number[] = [];
  const writer = new Writer(() => t.endpoints, t.cred, 'pgw_bench');
  await t.waitStable(180_000);
  await writer.start();
  try {
    for (let i = 0; i < n; i++) {
      await t.waitStable(180_000);
      const before = writer.acks.length;
      await waitFor('the writer to commit before the fault', () => writer.acks.length > before + 5, { timeoutMs: 30_000 });
      const victim = await t.leader();
      const t0 = performance.now();
      if (fault === 'postmaster_kill') t.killPostmaster(victim);
      else await t.crashHost(victim);
      const ack = await waitFor(`${t.name}: first write after ${fault}`, () => writer.firstAckAfter(t0, (a) => (fault === 'host_crash' ? a.node !== victim : a.connectedAt > t0)), {
        timeoutMs: 120_000,
        intervalMs: 20,
      });
      const s = (ack.at - t0) / 1000;
      out.push(s);
      console.log(`  ${t.name} ${fault} run ${i + 1}/${n}: ${s.toFixed(2)} s (victim ${victim}, writes on ${ack.node})`);
      if (fault === 'host_crash') await t.restartHost(victim);
    }
    await t.waitStable(180_000);
  } finally {
    await writer.stop();
  }
  return out;
}

type SplitFault = 'agent_kill' | 'agent_freeze' | 'postgres_freeze';
// Least disruptive first: a system that does not reconverge after one fault ends its rows there.
const SPLIT_FAULTS: readonly SplitFault[] = ['postgres_freeze', 'agent_kill', 'agent_freeze'];

/** One committed row on `port`, on a connection of its own; false when it cannot commit within 1 s. */
async function commitOn(t: BenchTarget, port: number): Promise<boolean> {
  const c = await connect(port, t.cred, 1000, undefined, 1000).catch(() => null);
  if (!c) return false;
  try {
    await c.query('INSERT INTO pgw_bench_fresh DEFAULT VALUES');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

/** One fault run: failover null when no other node took writes while the fault lasted. */
interface SplitRun {
  readonly failover: number | null;
  readonly window: number;
  readonly outage: number;
}

/**
 * A fault that leaves the old primary's PostgreSQL without its HA process (agent killed or
 * frozen) or frozen itself, for 2 × ttl. A sticky writer stays on the old primary as long as it
 * can (as a client with target_session_attrs=read-write does); fresh connections to the other
 * nodes try to commit every 50 ms. Failover: the first fresh commit. Split-brain window: how long
 * the sticky writer still committed after that. Outage: the longest time in which no node took a
 * write (what a client that moves to whichever node is writable would see).
 */
async function measureSplit(t: BenchTarget, ttlS: number, fault: SplitFault, n: number): Promise<{ runs: SplitRun[]; stuck: string | null }> {
  const runs: SplitRun[] = [];
  // A cluster that does not settle again is a result too: the runs so far count, the rest do not run.
  const settled = () =>
    t.waitStable(180_000).then(
      () => null,
      (err: Error) => `did not reconverge within 180 s after ${fault}: ${err.message}`,
    );
  for (let i = 0; i < n; i++) {
    const stuck = await settled();
    if (stuck) return { runs, stuck };
    const victim = await t.leader();
    const others = t.endpoints.filter((e) => e.name !== victim);
    const sticky = new Writer(() => t.endpoints.filter((e) => e.name === victim), t.cred, 'pgw_bench_sticky');
    await sticky.start();
    await sqlRows(t.endpoints.find((e) => e.name === victim)!.port, t.cred, 'CREATE TABLE IF NOT EXISTS pgw_bench_fresh (at timestamptz DEFAULT now())');
    await waitFor('the sticky writer to commit', () => sticky.acks.length > 5, { timeoutMs: 10_000 });
    const t0 = performance.now();
    if (fault === 'agent_kill') t.signalAgent(victim, 'SIGKILL');
    else if (fault === 'agent_freeze') t.signalAgent(victim, 'SIGSTOP');
    else t.freezePostgres(victim, true);
    const fresh: number[] = [];
    const end = t0 + 2 * ttlS * 1000;
    try {
      while (performance.now() < end) {
        for (const e of others) if (await commitOn(t, e.port)) fresh.push(performance.now());
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      if (fault === 'agent_kill') await t.restartHost(victim);
      else if (fault === 'agent_freeze') t.signalAgent(victim, 'SIGCONT');
      else t.freezePostgres(victim, false);
      await sticky.stop();
    }
    const first = fresh[0] ?? null;
    const lastSticky = sticky.acks.filter((a) => a.at <= end).at(-1)?.at ?? 0;
    const writes = [...sticky.acks.map((a) => ({ at: a.at })), ...fresh.map((at) => ({ at }))].sort((a, b) => a.at - b.at);
    const run = {
      failover: first === null ? null : (first - t0) / 1000,
      window: first === null ? 0 : Math.max(0, (lastSticky - first) / 1000),
      outage: longestGap(writes, t0, end) / 1000,
    };
    runs.push(run);
    console.log(
      `  ${t.name} ${fault} run ${i + 1}/${n}: failover ${run.failover === null ? `none within ${2 * ttlS} s` : `${run.failover.toFixed(2)} s`}; split-brain window ${run.window.toFixed(2)} s; longest time with no write anywhere ${run.outage.toFixed(2)} s (victim ${victim})`,
    );
  }
  return { runs, stuck: await settled() };
}

interface SplitRow {
  readonly runs: number;
  /** Over the runs with a failover; `no_failover_runs` had none while the fault lasted. */
  readonly failover_s: Stats | null;
  readonly no_failover_runs: number;
  readonly split_brain_window_s: Stats | null;
  readonly outage_s: Stats | null;
  /** Why the runs stopped: the cluster did not settle again. */
  readonly stuck: string | null;
}
type SplitRows = Partial<Record<SplitFault, SplitRow>>;

async function bench(make: () => Promise<BenchTarget>, ttlS: number): Promise<{ postmaster_kill_s: Stats | null; host_crash_s: Stats | null; split: SplitRows }> {
  const t = await make();
  try {
    console.log(`${t.name}: ${runs} run(s) of each fault`);
    const pk = splitOnly ? null : stats(await measure(t, 'postmaster_kill', runs));
    const hc = splitOnly ? null : stats(await measure(t, 'host_crash', runs));
    const split: SplitRows = {};
    for (const f of SPLIT_FAULTS) {
      const { runs: m, stuck } = await measureSplit(t, ttlS, f, runs);
      const failovers = m.flatMap((r) => (r.failover === null ? [] : [r.failover]));
      split[f] = {
        runs: m.length,
        failover_s: failovers.length ? stats(failovers) : null,
        no_failover_runs: m.length - failovers.length,
        split_brain_window_s: m.length ? stats(m.map((r) => r.window)) : null,
        outage_s: m.length ? stats(m.map((r) => r.outage)) : null,
        stuck,
      };
      if (stuck) break;
    }
    return { postmaster_kill_s: pk, host_crash_s: hc, split };
  } finally {
    await t.stop();
  }
}

function printSplit(name: string, rows: SplitRows): void {
  for (const f of SPLIT_FAULTS) {
    const r = rows[f];
    if (!r) {
      console.log(`${name} ${f}: not run`);
      continue;
    }
    const failover = `${r.failover_s ? fmt(r.failover_s) : 'none'}${r.no_failover_runs ? ` (${r.no_failover_runs} run(s) without failover)` : ''}`;
    console.log(
      `${name} ${f} (${r.runs} runs): failover ${failover}; split-brain window ${fmt(r.split_brain_window_s)}; longest time with no write anywhere ${fmt(r.outage_s)}${r.stuck ? `; ${r.stuck}` : ''}`,
    );
  }
}

const fmt = (s: Stats | null) => (s === null ? 'not run' : `min ${s.min.toFixed(2)} / median ${s.median.toFixed(2)} / max ${s.max.toFixed(2)} s`);

const ours = await bench(() => pgwardenTarget({ loop_wait: 1, ttl: TTL, retry_timeout: 3, primary_start_timeout: 10 }), TTL);
console.log(`\npgwarden (ttl ${TTL}, loop_wait 1): postmaster kill -9: ${fmt(ours.postmaster_kill_s)}; host crash: ${fmt(ours.host_crash_s)}`);
printSplit('pgwarden', ours.split);
const result: Record<string, unknown> = { bench: 'failover', ttl: TTL, runs, ...ours };
if (values['with-patroni']) {
  ensurePatroni();
  const peer = await bench(() => patroniCluster(), 20);
  console.log(`patroni (ttl 20, loop_wait 1, retry_timeout 3): postmaster kill -9: ${fmt(peer.postmaster_kill_s)}; host crash: ${fmt(peer.host_crash_s)}`);
  printSplit('patroni', peer.split);
  const ratio = ours.host_crash_s && peer.host_crash_s ? Math.round((ours.host_crash_s.median / peer.host_crash_s.median) * 100) / 100 : null;
  if (ratio !== null) console.log(`host crash median ratio pgwarden/patroni: ${ratio} (goal <= 0.6)`);
  Object.assign(result, {
    patroni_ttl: 20,
    patroni_postmaster_kill_s: peer.postmaster_kill_s,
    patroni_host_crash_s: peer.host_crash_s,
    patroni_split: peer.split,
    host_crash_ratio_vs_patroni: ratio,
  });
}
console.log(JSON.stringify(result));
