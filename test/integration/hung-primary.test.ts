/**
 * A hung primary is fenced, then replaced; a busy one is not. The agent proves its primary alive
 * with a write probe on its own connection every cycle. A primary that answered and then stops
 * committing for primary_hang_timeout is killed (every process) and only then gives the lock up.
 * Under a saturating pgbench nothing happens.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { DEFAULT_BIN_DIR } from '../../src/config/schema.js';
import { instancePids } from '../../src/postgres/instance-procs.js';
import { waitFor } from '../../src/util/deadline.js';
import { checkedCluster } from '../support/checked-cluster.js';
import { MAIN, memoryCluster, TIMING } from '../support/cluster.js';
import { pgbench, prepareDatabase } from '../support/pgbench.js';

const exec = promisify(execFile);
const HANG_S = 2;

describe('hung primary', { timeout: 300_000 }, () => {
  const checked = checkedCluster(() => memoryCluster({ timing: { primary_hang_timeout: HANG_S } }));

  const events = async () => {
    const { stdout } = await exec(process.execPath, [MAIN, 'cluster', 'events', '-c', checked.c.clientConfigFile, '--json', '-n', '500']);
    return JSON.parse(stdout) as { at: string; node: string; kind: string; message: string }[];
  };

  it('a primary saturated by pgbench (8 clients, TPC-B-like, 20 s) is busy, not hung: no fence, no failover', async () => {
    const { c } = checked;
    const before = await c.waitStable(60_000);
    const leader = before.leader;
    assert.ok(leader);
    const port = c.endpoints.find((e) => e.name === leader)?.port;
    assert.ok(port);
    await prepareDatabase(c, port, 'hangbench', 5);
    const r = await pgbench(port, c.cred.password, 'hangbench', ['-c', '8', '-j', '2'], 20);
    console.log(`# pgbench on the primary: ${Math.round(r.tps)} tps, latency ${r.latencyMs} ms`);
    const after = await c.waitStable(30_000);
    assert.equal(after.leader, leader, 'the leader stayed');
    assert.equal((await events()).filter((e) => e.kind === 'fenced').length, 0, 'no fence');
  });

  it('a frozen primary (every process stopped) is killed, then a standby takes over; the old one rejoins as a standby', async () => {
    const { c, writer } = checked;
    const r = await c.waitStable(60_000);
    const leader = r.leader;
    assert.ok(leader);
    const instance = { dataDir: c.dataDir(leader), binary: join(DEFAULT_BIN_DIR, 'postgres') };
    const pids = instancePids(instance);
    assert.ok(pids.length > 3, 'the instance is found');
    const acked = writer.acks.length;
    await waitFor('the writer to commit', () => writer.acks.length > acked + 3, { timeoutMs: 10_000 });
    const t0 = performance.now();
    pids.forEach((p) => process.kill(p, 'SIGSTOP'));
    try {
      const ack = await waitFor('a write acknowledged on another node', () => writer.firstAckAfter(t0, (a) => a.node !== leader), {
        timeoutMs: 30_000,
        intervalMs: 50,
      });
      const back = (ack.at - t0) / 1000;
      console.log(`# frozen primary ${leader}: writes on ${ack.node} after ${back.toFixed(2)} s (primary_hang_timeout ${HANG_S} s, ttl ${TIMING.ttl} s)`);
      assert.ok(back <= HANG_S + TIMING.ttl + 3, `writes back within primary_hang_timeout + ttl + 3 s (${back.toFixed(2)} s)`);
      assert.deepEqual(
        instancePids(instance).filter((p) => pids.includes(p)),
        [],
        'every process of the frozen instance was killed',
      );
    } finally {
      pids.forEach((p) => {
        try {
          process.kill(p, 'SIGCONT');
        } catch {
          // killed: the expected case
        }
      });
    }
    const log = await events();
    const fenced = log.find((e) => e.kind === 'fenced' && e.node === leader);
    const promoted = log.filter((e) => e.kind === 'promoted' && e.node !== leader).at(-1);
    assert.ok(fenced && promoted, `fenced and promoted events (${log.map((e) => `${e.node}:${e.kind}`).join(', ')})`);
    assert.ok(Date.parse(fenced.at) <= Date.parse(promoted.at), `the old primary was fenced (${fenced.at}) before ${promoted.node} was promoted (${promoted.at})`);
    const healed = await c.waitStable(90_000);
    assert.notEqual(healed.leader, leader);
    assert.equal(healed.members.find((m) => m.name === leader)?.role, 'standby', 'the fenced primary rejoined as a standby');
  });
});
