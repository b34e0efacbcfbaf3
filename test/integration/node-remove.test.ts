/**
 * `pgwarden node remove` on a 3-node `pgwarden up` cluster under writes: the leader is refused and
 * nothing changes; a standby goes (PostgreSQL stopped, its slots dropped on every member, the proxy
 * no longer lists it, its data directory kept) while the writer carries on. A removed agent that
 * comes back stays out, saying why, until readmitted.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { fetchNodeReport } from '../../src/client/api-client.js';
import { buildNode } from '../../src/compose/agent.js';
import { parseNodeConfig } from '../../src/config/index.js';
import type { PoolNodeRow } from '../../src/proxy/pool-nodes.js';
import { MemoryStore } from '../../src/store/memory.js';
import { createLogger } from '../../src/util/log.js';
import { waitFor } from '../../src/util/deadline.js';
import { MAIN, memoryCluster, type ClusterHarness } from '../support/cluster.js';
import { checkedCluster } from '../support/checked-cluster.js';
import { sqlRows, type Writer } from '../support/workload.js';

const execP = promisify(execFile);
const cli = (...args: string[]) =>
  execP(process.execPath, [MAIN, ...args]).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );

describe('node remove on real PostgreSQL (memory store)', { timeout: 300_000 }, () => {
  const suite = checkedCluster(() => memoryCluster());
  let c: ClusterHarness;
  let writer: Writer;
  before(() => {
    ({ c, writer } = suite);
  });
  const port = (name: string) => c.endpoints.find((e) => e.name === name)!.port;

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
          const s = await fetchNodeReport(`http://${cfg.api.connect_address}`, 2000);
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
