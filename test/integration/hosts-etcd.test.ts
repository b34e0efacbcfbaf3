/**
 * Scale-out and whole-cluster operations where every agent is a process of its own on a shared
 * etcd, as on several hosts (the CLI reaches them only through their APIs):
 * - a host added later clones from the standby tagged `clonefrom`, then streams from the leader,
 *   and every member that may be promoted keeps a slot for it;
 * - `cluster restart` goes through the agents: the same leader, one row per host and program,
 *   the proxy process the client file names included;
 * - `node remove --purge` stops the new node's PostgreSQL, drops its slots everywhere and has its
 *   own agent delete its data directory.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { ClusterEvent } from '../../src/store/types.js';
import { waitFor } from '../../src/util/deadline.js';
import { cli } from '../support/cli.js';
import { etcdCluster, MAIN, type ClusterHarness } from '../support/cluster.js';
import { freePorts } from '../support/ports.js';
import { sqlRows } from '../support/workload.js';

describe('operations on agents in processes of their own with etcd (as on several hosts)', { timeout: 400_000 }, () => {
  let c: ClusterHarness;
  let proxy: ChildProcess | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'pgw-hosts-'));
  /** The harness's client file with the proxy's admin endpoint added. */
  const clientFile = join(dir, 'cluster.yaml');
  const port = (name: string) => c.endpoints.find((e) => e.name === name)!.port;
  const slotsOn = async (node: string) =>
    (await sqlRows(port(node), c.cred, "SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'physical' ORDER BY 1")).map((r) => r.slot_name as string);
  const members = async () => (await c.report()).members.map((m) => m.name).sort();

  before(async () => {
    // One host after the other, so that node1 leads and node2 is the tagged standby when node3 comes.
    c = await etcdCluster({ nodes: 3, tags: { node2: { clonefrom: true } }, later: ['node2', 'node3'] });
    await c.waitStable(90_000);
    await c.restartHost('node2');
    await c.waitStable(90_000, undefined, ['node1', 'node2']);

    const [rw, ro, admin] = await freePorts(3);
    writeFileSync(join(dir, 'pw'), c.cred.password, { mode: 0o600 });
    writeFileSync(
      join(dir, 'proxy.yaml'),
      toYaml({
        scope: c.store!.scope,
        store: { type: 'etcd', endpoints: c.store!.endpoints },
        listen_rw: `127.0.0.1:${rw}`,
        listen_ro: `127.0.0.1:${ro}`,
        admin_listen: `127.0.0.1:${admin}`,
        health_check: { user: c.cred.user, password_file: join(dir, 'pw') },
      }),
    );
    proxy = spawn(process.execPath, [MAIN, 'proxy', '-c', join(dir, 'proxy.yaml')], { stdio: 'ignore' });
    const client = parseYaml(readFileSync(c.clientConfigFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(clientFile, toYaml({ ...client, proxies: [`http://127.0.0.1:${admin}`] }));
  });
  after(async () => {
    proxy?.kill('SIGKILL');
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a host added later clones from the standby tagged clonefrom, then streams from the leader; slots for it on both', async () => {
    assert.equal((await c.report()).leader, 'node1');
    await c.restartHost('node3');
    await c.waitStable(120_000, undefined, ['node1', 'node2', 'node3']);

    const out = await cli('cluster', 'events', '--since', '10m', '--json', '-c', c.clientConfigFile);
    assert.equal(out.code, 0, out.stderr);
    const events = (JSON.parse(out.stdout) as ClusterEvent[]).filter((e) => e.node === 'node3');
    const cloned = events.find((e) => e.kind === 'cloned');
    assert.ok(cloned, `a cloned event: ${JSON.stringify(events)}`);
    assert.match(cloned.message, /^cloned .+ from node2; started as a standby of node1$/);
    const [receiver] = await sqlRows(port('node3'), c.cred, 'SELECT sender_port FROM pg_stat_wal_receiver');
    assert.equal(receiver?.sender_port, port('node1'), 'node3 streams from the leader');
    for (const [node, wanted] of [
      ['node1', ['node2', 'node3']],
      ['node2', ['node1', 'node3']],
    ] as const) {
      await waitFor(`slots ${wanted.join(', ')} on ${node}`, async () => JSON.stringify(await slotsOn(node)) === JSON.stringify(wanted), { timeoutMs: 15_000 });
    }
  });

  it('cluster restart through the agents: one row per host and program, the same leader', async () => {
    const out = await cli('cluster', 'restart', '--json', '-c', clientFile);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    const res = JSON.parse(out.stdout) as { reached: boolean; leader: string; programs: { node: string; program: string; state: string }[] };
    assert.equal(res.reached, true);
    assert.equal(res.leader, 'node1');
    assert.deepEqual(res.programs.map((p) => `${p.node} ${p.program}`).sort(), [
      '- proxy',
      'node1 agent',
      'node1 postgresql',
      'node2 agent',
      'node2 postgresql',
      'node3 agent',
      'node3 postgresql',
    ]);
    assert.equal(res.programs.find((p) => p.program === 'proxy')!.state, 'running (primary up, 2 of 2 standbys up)', 'the proxy routes to every node again');
    assert.equal((await c.waitStable(60_000)).leader, 'node1');
  });

  it('node remove --purge: its PostgreSQL stopped, its slots gone everywhere, its data directory deleted by its own agent', async () => {
    await c.waitStable(60_000);
    const out = await cli('node', 'remove', 'node3', '--purge', '--yes', '--json', '-c', c.clientConfigFile);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.deepEqual(JSON.parse(out.stdout), { removed: 'node3', postgres_stopped: true, purged: c.dataDir('node3') });
    assert.equal(existsSync(c.dataDir('node3')), false);
    for (const node of ['node1', 'node2']) {
      await waitFor(`no slot for node3 on ${node}`, async () => !(await slotsOn(node)).includes('node3'), { timeoutMs: 15_000 });
    }
    assert.deepEqual(await members(), ['node1', 'node2']);
  });
});
