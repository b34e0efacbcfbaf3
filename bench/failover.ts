/**
 * npm run bench:failover [-- --runs N] [-- --with-patroni]
 *
 * 3 nodes on a real etcd, ttl 10, loop_wait 1, retry_timeout 3. For each fault (postmaster
 * kill -9 of the primary; host crash of the primary = agent and every PostgreSQL process killed)
 * it times fault -> first committed write, by a writer that commits every 20 ms to whichever node
 * is writable. After a postmaster kill only a connection opened after the fault counts (an orphaned
 * backend of the killed postmaster could still commit); after a host crash only a write on another
 * node. With --with-patroni the same faults run in the same run on Patroni at its tightest valid
 * timing (ttl 20, loop_wait 1, retry_timeout 3). The last line is JSON.
 */
import { parseArgs } from 'node:util';
import { etcdCluster } from '../test/support/cluster.js';
import { Writer } from '../test/support/workload.js';
import { waitFor } from '../src/util/deadline.js';
import { ensurePatroni, patroniCluster } from './patroni.js';
import { stats, type Stats } from './stats.js';
import { wholeNumbers } from './args.js';
import type { BenchTarget } from './target.js';

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
    stop: () => c.stop(),
  };
}

async function bench(make: () => Promise<BenchTarget>): Promise<{ postmaster_kill_s: Stats; host_crash_s: Stats }> {
  const t = await make();
  try {
    console.log(`${t.name}: ${runs} run(s) of each fault`);
    const pk = await measure(t, 'postmaster_kill', runs);
    const hc = await measure(t, 'host_crash', runs);
    return { postmaster_kill_s: stats(pk), host_crash_s: stats(hc) };
  } finally {
    await t.stop();
  }
}

const fmt = (s: Stats) => `min ${s.min.toFixed(2)} / median ${s.median.toFixed(2)} / max ${s.max.toFixed(2)} s`;

const ours = await bench(pgwardenTarget);
console.log(`\npgwarden (ttl ${TTL}, loop_wait 1): postmaster kill -9: ${fmt(ours.postmaster_kill_s)}; host crash: ${fmt(ours.host_crash_s)}`);
const result: Record<string, unknown> = { bench: 'failover', ttl: TTL, runs, ...ours };
if (values['with-patroni']) {
  ensurePatroni();
  const peer = await bench(() => patroniCluster());
  console.log(`patroni (ttl 20, loop_wait 1, retry_timeout 3): postmaster kill -9: ${fmt(peer.postmaster_kill_s)}; host crash: ${fmt(peer.host_crash_s)}`);
  const ratio = Math.round((ours.host_crash_s.median / peer.host_crash_s.median) * 100) / 100;
  console.log(`host crash median ratio pgwarden/patroni: ${ratio} (goal <= 0.6)`);
  Object.assign(result, { patroni_ttl: 20, patroni_postmaster_kill_s: peer.postmaster_kill_s, patroni_host_crash_s: peer.host_crash_s, host_crash_ratio_vs_patroni: ratio });
}
console.log(JSON.stringify(result));
