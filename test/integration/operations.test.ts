/**
 * Operator commands on a 3-node `pgwarden up` cluster under writes.
 * - `cluster stop|start|restart`: standbys stop before the primary, the same leader comes back
 *   first, nobody is promoted, every acknowledged commit is there.
 * - `node remove`: the leader is refused and nothing changes; a standby goes (PostgreSQL stopped,
 *   its slots dropped on every member, the proxy no longer lists it, its data directory kept) while
 *   the writer carries on; a removed agent that comes back stays out, saying why.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { fetchNodeReport } from '../../src/client/api-client.js';
import { buildNode } from '../../src/compose/agent.js';
import { parseNodeConfig, splitHostPort } from '../../src/config/index.js';
import type { PoolNodeRow } from '../../src/proxy/pool-nodes.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { ClusterEvent } from '../../src/store/types.js';
import { waitFor } from '../../src/util/deadline.js';
import { createLogger } from '../../src/util/log.js';
import { cli } from '../support/cli.js';
import { memoryCluster, type ClusterHarness } from '../support/cluster.js';
import { checkedCluster } from '../support/checked-cluster.js';
import { idsOn, sqlRows, type Writer } from '../support/workload.js';

interface OpResult {
  operation: string;
  reached: boolean;
  leader: string;
  programs: { node: string; program: string; state: string }[];
}

describe('operator commands on real PostgreSQL (memory store)', { timeout: 400_000 }, () => {
  const suite = checkedCluster(() => memoryCluster());
  let c: ClusterHarness;
  let writer: Writer;
  before(() => {
    ({ c, writer } = suite);
  });
  const port = (name: string) => c.endpoints.find((e) => e.name === name)!.port;

  /** Every id the writer had acknowledged is on the leader (taken before the read: later ones may commit after its snapshot). */
  async function noAckLost(leader: string): Promise<void> {
    const acked = [...writer.acks];
    const have = await idsOn(port(leader), c.cred);
    const lost = acked.filter((a) => !have.has(a.id)).map((a) => `${a.id} on ${a.node}`);
    assert.deepEqual(lost, [], 'no acknowledged commit lost');
  }

  it('restart: one command, the same leader on the same timeline, no promotion, no acknowledged commit lost', async () => {
    const r = await c.waitStable(30_000);
    const since = new Date().toISOString();
    const timeline = r.members.find((m) => m.name === r.leader)!.timeline;
    const out = await cli('cluster', 'restart', '--json', '-c', c.clientConfigFile);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    const res = JSON.parse(out.stdout) as OpResult;
    assert.equal(res.reached, true);
    assert.equal(res.leader, r.leader);
    assert.equal(res.programs.length, 7, 'agent and postgresql per host, and the proxy pgwarden up runs');
    assert.deepEqual(res.programs.at(-1), { host: '127.0.0.1', node: '-', program: 'proxy', state: 'running (primary up, 2 of 2 standbys up)' });
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
    // A node added now cannot clone: node add gives up, says why, and leaves the cluster as it was.
    const add = await cli('node', 'add', '--timeout', '3', '-c', c.clientConfigFile);
    assert.equal(add.code, 1, add.stdout);
    assert.match(add.stderr, /node add failed: it did not stream within 3 s; node4 was removed again, the cluster is as it was/);
    assert.deepEqual((await c.report()).members.map((m) => m.name).sort(), ['node1', 'node2', 'node3']);
    assert.equal(existsSync(join(c.up!.dir, 'nodes', 'node4')), false, 'its files are gone');
    // Stopped for longer than the TTL: still no election.
    await new Promise((resolve) => setTimeout(resolve, c.ttlMs + 1000));
    assert.equal((await c.report()).leader, r.leader, 'the leader kept its lock while stopped');
    const start = await cli('cluster', 'start', '-c', c.clientConfigFile);
    assert.equal(start.code, 0, start.stdout);
    const after = await c.waitStable(30_000);
    assert.equal(after.leader, r.leader);
    await noAckLost(r.leader!);
  });

  it('the leader is refused and the cluster stays as it was', async () => {
    const r = await c.waitStable(30_000);
    const out = await cli('node', 'remove', r.leader!, '--yes', '-c', c.clientConfigFile);
    assert.equal(out.code, 1);
    assert.match(out.stderr, /holds the leader lock: switch over to another node first/);
    const after = await c.waitStable(10_000);
    assert.deepEqual(
      after.members.map((m) => m.name),
      r.members.map((m) => m.name),
    );
  });

  it('a standby under writes: stopped, slots gone everywhere, out of the proxy, data kept; the writer carries on', async () => {
    const r = await c.waitStable(30_000);
    const gone = r.members.find((m) => m.name !== r.leader)!.name;
    const rest = r.members.filter((m) => m.name !== gone).map((m) => m.name);
    const acked = writer.acks.length;
    const out = await cli('node', 'remove', gone, '--yes', '--json', '-c', c.clientConfigFile);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout), { removed: gone, postgres_stopped: true, purged: null });

    for (const n of rest) {
      await waitFor(`no slot for ${gone} on ${n}`, async () => (await sqlRows(port(n), c.cred, `SELECT 1 FROM pg_replication_slots WHERE slot_name = '${gone}'`)).length === 0, {
        timeoutMs: 15_000,
      });
    }
    const admin = `http://127.0.0.1:${c.up!.proxyPorts.admin}/nodes`;
    await waitFor(
      `the proxy to forget ${gone}`,
      async () => {
        const rows = (await (await fetch(admin)).json()) as PoolNodeRow[];
        return rows.length === 2 && rows.every((row) => row.port !== port(gone));
      },
      { timeoutMs: 10_000 },
    );
    const now = await c.waitStable(30_000);
    assert.deepEqual(now.members.map((m) => m.name).sort(), rest.sort());
    await waitFor('the writer to commit after the removal', () => writer.acks.length > acked + 10, { timeoutMs: 10_000 });
    assert.equal(existsSync(c.dataDir(gone)), true, 'its data directory is kept');

    // Its agent started again by mistake (same YAML, same store): it stays out and says why.
    // Paths in the YAML pgwarden up writes are relative to its directory.
    const cfg = parseNodeConfig(parseYaml(readFileSync(join(c.up!.dir, 'nodes', `${gone}.yaml`), 'utf8')), c.up!.dir);
    const back = await buildNode(cfg, new MemoryStore(c.up!.backend, cfg.ttl * 1000), createLogger({ name: 'back', level: 'error' })).start();
    try {
      const status = await waitFor(
        `${gone} to report its removal`,
        async () => {
          const s = await fetchNodeReport({ host: splitHostPort(cfg.api.connect_address).host, api_url: `http://${cfg.api.connect_address}` }, 2000);
          return s?.removed_at ? s : false;
        },
        { timeoutMs: 10_000 },
      );
      assert.equal(status.running, false);
      assert.match(back.agent.status().decision?.message ?? '', /removed from the cluster by an operator .*pgwarden node readmit/);
      assert.equal(
        (await c.report()).members.some((m) => m.name === gone),
        false,
        'not registered again',
      );
    } finally {
      await back.stop({ stopPostgres: true, revoke: true });
    }
  });
});
