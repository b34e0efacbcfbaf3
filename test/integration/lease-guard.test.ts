/**
 * The lease guard, with real agents (one process per node, on etcd): a primary whose agent is
 * killed or frozen is killed by its guard before any other node may take the lock, so a client
 * that stays connected to it (as libpq's target_session_attrs=read-write does) cannot commit
 * after the promotion; an agent restarted within its lease re-attaches without a restart; a
 * guard that dies takes its PostgreSQL with it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { isAlive } from '../../src/postgres/ctl.js';
import { instanceCgroup } from '../../src/postgres/instance-procs.js';
import { waitFor } from '../../src/util/deadline.js';
import { checkedCluster } from '../support/checked-cluster.js';
import { etcdCluster, MAIN, TIMING, type ClusterHarness } from '../support/cluster.js';
import type { Writer } from '../support/workload.js';

const exec = promisify(execFile);
const TTL_S = 6;

interface Event {
  at: string;
  node: string;
  kind: string;
  message: string;
}

async function events(c: ClusterHarness): Promise<Event[]> {
  const { stdout } = await exec(process.execPath, [MAIN, 'cluster', 'events', '-c', c.clientConfigFile, '--json', '-n', '500']);
  return JSON.parse(stdout) as Event[];
}

/** The pid of the lease guard of a data directory, from /proc. */
function guardPid(dataDir: string): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.endsWith('/guard.js')) && argv.some((a) => a.includes(`"dataDir":"${dataDir}"`))) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/**
 * After a fault on the leader at t0: a write is acknowledged on another node within ttl + 3 s,
 * and no write acknowledged by the old leader came after the first one on the new leader.
 */
async function assertHandover(writer: Writer, leader: string, t0: number): Promise<string> {
  const first = await waitFor('a write acknowledged on another node', () => writer.firstAckAfter(t0, (a) => a.node !== leader), {
    timeoutMs: (TTL_S + 10) * 1000,
    intervalMs: 50,
  });
  const backS = (first.at - t0) / 1000;
  console.log(`# writes back on ${first.node} ${backS.toFixed(2)} s after the fault`);
  assert.ok(backS <= TTL_S + 3, `writes back within ttl + 3 s (took ${backS.toFixed(2)} s)`);
  const late = writer.acks.filter((a) => a.node === leader && a.at >= first.at);
  assert.deepEqual(late, [], 'no write acknowledged by the old primary after the new one took writes');
  return first.node;
}

/** The old leader's guard fenced it (event recorded by its agent) before the new leader was promoted. */
async function assertFencedBeforePromotion(c: ClusterHarness, oldLeader: string, newLeader: string, since: number): Promise<void> {
  const found = await waitFor(
    `a fenced event of ${oldLeader} and a promoted event of ${newLeader}`,
    async () => {
      const ev = (await events(c)).filter((e) => Date.parse(e.at) >= since);
      const fenced = ev.find((e) => e.node === oldLeader && e.kind === 'fenced');
      const promoted = ev.find((e) => e.node === newLeader && e.kind === 'promoted');
      return fenced && promoted ? { fenced, promoted } : false;
    },
    { timeoutMs: 30_000, intervalMs: 300 },
  );
  console.log(`# ${oldLeader} fenced at ${found.fenced.at}, ${newLeader} promoted at ${found.promoted.at}`);
  assert.ok(Date.parse(found.fenced.at) < Date.parse(found.promoted.at), 'the old primary was fenced before the new one was promoted');
}

/**
 * The leader's agent killed (started again after 2 x ttl) or frozen for 2 x ttl: the old primary
 * is down while its agent is, was fenced before the new leader's promotion, and rejoins.
 */
async function agentFaultOnLeader(c: ClusterHarness, writer: Writer, signal: 'SIGKILL' | 'SIGSTOP'): Promise<void> {
  const leader = (await c.waitStable(60_000)).leader!;
  await waitFor('the writer to commit on the leader', () => writer.acks.at(-1)?.node === leader, { timeoutMs: 10_000 });
  const since = Date.now();
  const t0 = performance.now();
  c.signalAgent!(leader, signal);
  let next: string;
  try {
    next = await assertHandover(writer, leader, t0);
    const pid = c.postmasterPid(leader);
    assert.ok(pid === null || !isAlive(pid), 'the old primary does not run while its agent is down');
    await waitFor('2 x ttl to pass', () => performance.now() - t0 > 2 * TTL_S * 1000, { timeoutMs: 3 * TTL_S * 1000, intervalMs: 200 });
  } finally {
    if (signal === 'SIGSTOP') c.signalAgent!(leader, 'SIGCONT');
    else await c.restartHost(leader);
  }
  await assertFencedBeforePromotion(c, leader, next, since);
  const r = await c.waitStable(90_000);
  assert.equal(r.leader, next);
}

describe('lease guard (etcd, one agent process per node)', { timeout: 600_000 }, () => {
  const checked = checkedCluster(() => etcdCluster({ timing: { ...TIMING, ttl: TTL_S } }));

  it('an agent killed and restarted within its lease re-attaches: same postmaster, same leader, no fence', async () => {
    const { c } = checked;
    const leader = (await c.waitStable(60_000)).leader!;
    const pid = c.postmasterPid(leader);
    const since = Date.now();
    c.signalAgent!(leader, 'SIGKILL');
    await c.restartHost(leader);
    const after = await c.waitStable(30_000);
    assert.equal(after.leader, leader, 'the leader stayed');
    assert.equal(c.postmasterPid(leader), pid, 'PostgreSQL was not restarted');
    const ev = (await events(c)).filter((e) => Date.parse(e.at) >= since);
    assert.deepEqual(
      ev.filter((e) => ['fenced', 'leader_acquired', 'promoted'].includes(e.kind)),
      [],
      'no fence, no election',
    );
  });

  it('agent kill -9 on the primary: its guard kills PostgreSQL before a standby is promoted; the direct writer commits nowhere after that', () =>
    agentFaultOnLeader(checked.c, checked.writer, 'SIGKILL'));

  it('agent frozen (SIGSTOP) for 2 x ttl on the primary: fenced by its guard; resumed, it rejoins as a standby', () => agentFaultOnLeader(checked.c, checked.writer, 'SIGSTOP'));

  it('the guard of a standby killed: its PostgreSQL dies with it (no unguarded instance), and the agent starts both again', async () => {
    const { c } = checked;
    const r = await c.waitStable(60_000);
    const standby = r.members.find((m) => m.name !== r.leader)!.name;
    const guard = guardPid(c.dataDir(standby));
    const pid = c.postmasterPid(standby);
    assert.ok(guard !== null && pid !== null, 'a guard and a postmaster run');
    const cg = instanceCgroup(c.dataDir(standby));
    if (process.getuid?.() === 0 && cg !== null) {
      const members = readFileSync(join(cg, 'cgroup.procs'), 'utf8').split('\n').map(Number);
      assert.ok(members.includes(pid) && members.length > 3, 'the postmaster and its children run in the instance cgroup');
    }
    process.kill(guard, 'SIGKILL');
    await waitFor('the postmaster to die with its guard', () => !isAlive(pid), { timeoutMs: 5000, intervalMs: 20 });
    await waitFor(
      'a new guard and postmaster',
      () => {
        const g = guardPid(c.dataDir(standby));
        const p = c.postmasterPid(standby);
        return g !== null && g !== guard && p !== null && p !== pid && isAlive(p);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    await c.waitStable(60_000);
  });
});
