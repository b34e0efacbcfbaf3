/**
 * npm run bench:failover [-- --runs N] [-- --with-patroni]
 *
 * 3 nodes on a real etcd, ttl 10, loop_wait 1, retry_timeout 3. For each fault (postmaster
 * kill -9 of the primary; host crash of the primary = agent and every PostgreSQL process killed)
 * it times fault -> first committed write, by a writer that commits every 20 ms to whichever node
 * is writable. After a postmaster kill only a connection opened after the fault counts (an orphaned
 * backend of the killed postmaster could still commit); after a host crash only a write on another
 * node. Then the faults that leave PostgreSQL running without its HA process (agent kill -9, agent
 * frozen 2 × ttl, PostgreSQL frozen 2 × ttl): time to the first write on another node, and the
 * split-brain window, the seconds during which a client that stayed connected to the old primary
 * still committed after the new one took writes. With --with-patroni the same faults run in the
 * same run on Patroni at its tightest valid timing (ttl 20, loop_wait 1, retry_timeout 3). The last
 * line is JSON.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { etcdCluster } from '../test/support/cluster.js';
import { Writer } from '../test/support/workload.js';
import { waitFor } from '../src/util/deadline.js';
import { ensurePatroni, patroniCluster } from './patroni.js';
import { stats, type Stats } from './stats.js';
import { wholeNumbers } from './args.js';
import { freezeInstance, type BenchTarget } from './target.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, 'with-patroni': { type: 'boolean', default: false } } });
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
const SPLIT_FAULTS: readonly SplitFault[] = ['agent_kill', 'agent_freeze', 'postgres_freeze'];

/** One committed row on `port`, on a connection of its own; false when it cannot commit within 1 s. */
async function commitOn(t: BenchTarget, port: number): Promise<boolean> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: t.cred.user, password: t.cred.password, database: 'postgres', connectionTimeoutMillis: 1000, query_timeout: 1000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('INSERT INTO pgw_bench_fresh DEFAULT VALUES');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

/**
 * A fault that leaves the old primary's PostgreSQL running (agent killed or frozen) or stopped
 * (frozen), held for 2 × ttl. A sticky writer stays on the old primary as long as it can; fresh
 * connections to the other nodes try to commit every 50 ms. Writes back: the first fresh commit.
 * Split-brain window: the last sticky commit after that one (0 when none).
 */
async function measureSplit(t: BenchTarget, ttlS: number, fault: SplitFault, n: number): Promise<{ back: number[]; window: number[] }> {
  const back: number[] = [];
  const window: number[] = [];
  for (let i = 0; i < n; i++) {
    await t.waitStable(180_000);
    const victim = await t.leader();
    const others = t.endpoints.filter((e) => e.name !== victim);
    const sticky = new Writer(() => t.endpoints.filter((e) => e.name === victim), t.cred, 'pgw_bench_sticky');
    await sticky.start();
    const setup = new pg.Client({ host: '127.0.0.1', port: t.endpoints.find((e) => e.name === victim)!.port, user: t.cred.user, password: t.cred.password, database: 'postgres' });
    await setup.connect();
    await setup.query('CREATE TABLE IF NOT EXISTS pgw_bench_fresh (at timestamptz DEFAULT now())');
    await setup.end();
    await waitFor('the sticky writer to commit', () => sticky.acks.length > 5, { timeoutMs: 10_000 });
    const t0 = performance.now();
    if (fault === 'agent_kill') t.signalAgent(victim, 'SIGKILL');
    else if (fault === 'agent_freeze') t.signalAgent(victim, 'SIGSTOP');
    else t.freezePostgres(victim, true);
    let firstFresh: number | null = null;
    try {
      while (firstFresh === null && performance.now() - t0 < (3 * ttlS + 30) * 1000) {
        for (const e of others) if (firstFresh === null && (await commitOn(t, e.port))) firstFresh = performance.now();
        if (firstFresh === null) await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 2 * ttlS * 1000 - (performance.now() - t0))));
    } finally {
      if (fault === 'agent_kill') await t.restartHost(victim);
      else if (fault === 'agent_freeze') t.signalAgent(victim, 'SIGCONT');
      else t.freezePostgres(victim, false);
      await sticky.stop();
    }
    if (firstFresh === null) throw new Error(`${t.name} ${fault}: no other node took writes within ${3 * ttlS + 30} s`);
    const lastSticky = sticky.acks.at(-1)?.at ?? 0;
    back.push((firstFresh - t0) / 1000);
    window.push(Math.max(0, (lastSticky - firstFresh) / 1000));
    console.log(`  ${t.name} ${fault} run ${i + 1}/${n}: writes back ${back.at(-1)!.toFixed(2)} s; split-brain window ${window.at(-1)!.toFixed(2)} s (victim ${victim})`);
  }
  await t.waitStable(180_000);
  return { back, window };
}

async function pgwardenTarget(): Promise<BenchTarget> {
  const c = await etcdCluster({ timing: { loop_wait: 1, ttl: TTL, retry_timeout: 3, primary_start_timeout: 10 } });
  return {
    name: 'pgwarden',
    endpoints: c.endpoints,
    cred: c.cred,
    waitStable: async (ms) => void (await c.waitStable(ms)),
    leader: async () => (await c.report()).leader ?? Promise.reject(new Error('no leader')),
    killPostmaster: (n) => void c.killPostmaster(n),
    crashHost: (n) => c.crashHost(n),
    restartHost: (n) => c.restartHost(n),
    signalAgent: (n, sig) => c.signalAgent!(n, sig),
    freezePostgres: (n, on) => freezeInstance(c.dataDir(n), on),
    stop: () => c.stop(),
  };
}

type SplitRows = Record<SplitFault, { writes_back_s: Stats; split_brain_window_s: Stats }>;

async function bench(make: () => Promise<BenchTarget>, ttlS: number): Promise<{ postmaster_kill_s: Stats; host_crash_s: Stats; split: SplitRows }> {
  const t = await make();
  try {
    console.log(`${t.name}: ${runs} run(s) of each fault`);
    const pk = await measure(t, 'postmaster_kill', runs);
    const hc = await measure(t, 'host_crash', runs);
    const split = {} as SplitRows;
    for (const f of SPLIT_FAULTS) {
      const m = await measureSplit(t, ttlS, f, runs);
      split[f] = { writes_back_s: stats(m.back), split_brain_window_s: stats(m.window) };
    }
    return { postmaster_kill_s: stats(pk), host_crash_s: stats(hc), split };
  } finally {
    await t.stop();
  }
}

function printSplit(name: string, rows: SplitRows): void {
  for (const f of SPLIT_FAULTS) console.log(`${name} ${f}: writes back ${fmt(rows[f].writes_back_s)}; split-brain window ${fmt(rows[f].split_brain_window_s)}`);
}

const fmt = (s: Stats) => `min ${s.min.toFixed(2)} / median ${s.median.toFixed(2)} / max ${s.max.toFixed(2)} s`;

const ours = await bench(pgwardenTarget, TTL);
console.log(`\npgwarden (ttl ${TTL}, loop_wait 1): postmaster kill -9: ${fmt(ours.postmaster_kill_s)}; host crash: ${fmt(ours.host_crash_s)}`);
printSplit('pgwarden', ours.split);
const result: Record<string, unknown> = { bench: 'failover', ttl: TTL, runs, ...ours };
if (values['with-patroni']) {
  ensurePatroni();
  const peer = await bench(() => patroniCluster(), 20);
  console.log(`patroni (ttl 20, loop_wait 1, retry_timeout 3): postmaster kill -9: ${fmt(peer.postmaster_kill_s)}; host crash: ${fmt(peer.host_crash_s)}`);
  printSplit('patroni', peer.split);
  const ratio = Math.round((ours.host_crash_s.median / peer.host_crash_s.median) * 100) / 100;
  console.log(`host crash median ratio pgwarden/patroni: ${ratio} (goal <= 0.6)`);
  Object.assign(result, {
    patroni_ttl: 20,
    patroni_postmaster_kill_s: peer.postmaster_kill_s,
    patroni_host_crash_s: peer.host_crash_s,
    patroni_split: peer.split,
    host_crash_ratio_vs_patroni: ratio,
  });
}
console.log(JSON.stringify(result));
