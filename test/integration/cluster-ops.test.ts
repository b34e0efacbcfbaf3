/**
 * `pgwarden cluster stop|start|restart` on a 3-node cluster under writes: standbys stop before the
 * primary, the same leader comes back first, nobody is promoted, every acknowledged commit is there.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import type { ClusterEvent } from '../../src/store/types.js';
import { waitFor } from '../../src/util/deadline.js';
import { MAIN, memoryCluster, type ClusterHarness } from '../support/cluster.js';
import { checkedCluster } from '../support/checked-cluster.js';
import { idsOn, type Writer } from '../support/workload.js';

const execP = promisify(execFile);
const cli = (...args: string[]) =>
  execP(process.execPath, [MAIN, ...args]).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: `${err.stdout}${err.stderr}` }),
  );

interface OpResult {
  operation: string;
  reached: boolean;
  leader: string;
  programs: { node: string; program: string; state: string }[];
}

describe('whole-cluster stop, start and restart (memory store)', { timeout: 300_000 }, () => {
  const suite = checkedCluster(() => memoryCluster());
  let c: ClusterHarness;
  let writer: Writer;
  before(() => {
    ({ c, writer } = suite);
  });
  const port = (name: string) => c.endpoints.find((e) => e.name === name)!.port;

  /** Every id the writer had acknowledged is on the leader. */
  async function noAckLost(leader: string): Promise<void> {
    const have = await idsOn(port(leader), c.cred);
    const lost = writer.acks.filter((a) => !have.has(a.id)).map((a) => a.id);
    assert.deepEqual(lost, [], 'no acknowledged commit lost');
  }

  it('restart: one command, the same leader on the same timeline, no promotion, no acknowledged commit lost', async () => {
    const r = await c.waitStable(30_000);
    const since = new Date().toISOString();
    const timeline = r.members.find((m) => m.name === r.leader)!.timeline;
    const out = await cli('cluster', 'restart', '--json', '-c', c.clientConfigFile);
    assert.equal(out.code, 0, out.stdout);
    const res = JSON.parse(out.stdout) as OpResult;
    assert.equal(res.reached, true);
    assert.equal(res.leader, r.leader);
    assert.equal(res.programs.length, 7, 'agent and postgresql per host, and the proxy pgwarden up runs');
    assert.deepEqual(res.programs.at(-1), { host: '127.0.0.1', node: '(up)', program: 'proxy', state: 'running' });
    assert.ok(
      res.programs.every((p) => p.state.startsWith('running')),
      out.stdout,
    );
    const after = await c.waitStable(30_000);
    assert.equal(after.leader, r.leader);
    assert.equal(after.paused_since, null, 'resumed at the end');
    assert.equal(after.members.find((m) => m.name === r.leader)!.timeline, timeline, 'nobody was promoted');
    const events = (JSON.parse((await cli('cluster', 'events', '--since', since, '--json', '-c', c.clientConfigFile)).stdout) as ClusterEvent[]).filter(
      (e) => e.kind === 'demoted',
    );
    assert.deepEqual(events.map((e) => e.node).at(-1), r.leader, 'the primary stopped last');
    assert.equal(events.length, 3);
    const acked = writer.acks.length;
    await waitFor('the writer to commit again', () => writer.acks.length > acked + 5, { timeoutMs: 20_000 });
    await noAckLost(r.leader!);
  });

  it('stop, then start: every PostgreSQL down with no failover (cluster show says so), then back with the same leader', async () => {
    const r = await c.waitStable(30_000);
    const stop = await cli('cluster', 'stop', '-c', c.clientConfigFile);
    assert.equal(stop.code, 0, stop.stdout);
    assert.match(stop.stdout, /^ 127\.0\.0\.1 \| node1 \| postgresql \| stopped/m);
    assert.match(stop.stdout, /^ 127\.0\.0\.1 \| node1 \| agent +\| running/m);
    for (const n of ['node1', 'node2', 'node3']) assert.equal(c.postmasterPid(n), null, `${n} stopped`);
    const shown = await cli('cluster', 'show', '-c', c.clientConfigFile);
    assert.match(shown.stdout, /^PAUSED since .*: cluster stopped by an operator/);
    // Stopped for longer than the TTL: still no election.
    await new Promise((resolve) => setTimeout(resolve, c.ttlMs + 1000));
    assert.equal((await c.report()).leader, r.leader, 'the leader kept its lock while stopped');
    const start = await cli('cluster', 'start', '-c', c.clientConfigFile);
    assert.equal(start.code, 0, start.stdout);
    const after = await c.waitStable(30_000);
    assert.equal(after.leader, r.leader);
    await noAckLost(r.leader!);
  });
});
