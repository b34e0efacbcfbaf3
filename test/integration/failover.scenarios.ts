/**
 * The failover scenarios of the core issue, run against a real 3-node cluster on a given backend.
 * A sampler checks several times a second, through every fault, that never two nodes accept writes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import pg from 'pg';
import { DEFAULT_BIN_DIR } from '../../src/config/schema.js';
import { isAlive } from '../../src/postgres/ctl.js';
import { instancePids } from '../../src/postgres/instance-procs.js';
import { waitFor } from '../../src/util/deadline.js';
import type { ClusterEvent } from '../../src/store/types.js';
import { httpCall } from '../../src/client/http.js';
import { MAIN, type ClusterHarness } from '../support/cluster.js';
import { cli } from '../support/cli.js';
import { checkedCluster } from '../support/checked-cluster.js';
import { idsOn, sqlRows, writable, type Writer } from '../support/workload.js';

const execP = promisify(execFile);
const readlinkOrNull = (path: string) => {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
};
/** Runs the CLI; a failure carries what it printed. */
async function exec(file: string, args: string[]): Promise<{ stdout: string }> {
  try {
    return await execP(file, args);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    throw new Error(`pgwarden ${args.slice(1, 3).join(' ')} exited ${e.code}: ${e.stderr ?? ''}${e.stdout ?? ''}`, { cause: err });
  }
}

export function describeFailover(backend: string, make: () => Promise<ClusterHarness>): void {
  describe(`failover on real PostgreSQL (${backend} store)`, { timeout: 600_000 }, () => {
    const suite = checkedCluster(make);
    let c: ClusterHarness;
    let writer: Writer;
    before(() => {
      ({ c, writer } = suite);
    });

    const leaderOf = async () => (await c.report()).leader!;
    const port = (name: string) => c.endpoints.find((e) => e.name === name)!.port;

    it('bootstraps one primary and two streaming standbys; cluster show --json exits 0', async () => {
      const r = await c.waitStable(30_000);
      assert.equal(r.members.length, 3);
      assert.equal(r.members.filter((m) => m.role === 'primary').length, 1);
      const { stdout } = await exec(process.execPath, [MAIN, 'cluster', 'show', '-c', c.clientConfigFile, '--json']);
      const shown = JSON.parse(stdout);
      assert.equal(shown.leader, r.leader);
      for (const m of shown.members) for (const k of ['name', 'role', 'status', 'host', 'port', 'timeline', 'lag_bytes']) assert.ok(k in m, `member has ${k}`);
      const slots = await sqlRows(port(r.leader!), c.cred, "SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'physical' AND active ORDER BY 1");
      assert.deepEqual(
        slots.map((s) => s.slot_name),
        r.members
          .filter((m) => m.name !== r.leader)
          .map((m) => m.name)
          .sort(),
        'every standby streams through its own slot',
      );
    });

    it('kill -9 of the primary postmaster: its orphans are killed, it is restarted in place, writes resume within seconds', async () => {
      const leader = await leaderOf();
      // A backend busy in a loop never notices its postmaster's death: an orphan that could still
      // commit, and whose shared memory would keep a new postmaster from starting.
      const busy = new pg.Client({
        host: '127.0.0.1',
        port: port(leader),
        user: c.cred.user,
        password: c.cred.password,
        database: 'postgres',
        ...(c.cred.ssl ? { ssl: c.cred.ssl } : {}),
      });
      busy.on('error', () => {});
      await busy.connect();
      const orphan = Number((await busy.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid);
      const looping = busy.query('DO $$BEGIN LOOP PERFORM 1; END LOOP; END$$').catch(() => 'ended');
      const acked = writer.acks.length;
      await waitFor('the writer to commit', () => writer.acks.length > acked + 3, { timeoutMs: 10_000 });
      const t0 = performance.now();
      c.killPostmaster(leader);
      await waitFor(`orphaned backend ${orphan} to be killed`, () => readlinkOrNull(`/proc/${orphan}/cwd`) === null, {
        timeoutMs: 10_000,
        intervalMs: 20,
      });
      assert.equal(await looping, 'ended');
      // Only a connection opened after the kill proves the restarted postmaster takes writes.
      const ack = await waitFor('a write acknowledged by the restarted primary', () => writer.firstAckAfter(t0, (a) => a.connectedAt > t0), { timeoutMs: 20_000, intervalMs: 50 });
      console.log(`# ${backend}: postmaster kill -> first write after ${((ack.at - t0) / 1000).toFixed(2)} s on ${ack.node}`);
      await c.waitStable(30_000);
      await busy.end().catch(() => {});
    });

    it('paused: a killed primary stays down and nobody is promoted; resumed: it is restarted', async () => {
      const leader = await leaderOf();
      await exec(process.execPath, [MAIN, 'pause', '-c', c.clientConfigFile]);
      const shown = await execP(process.execPath, [MAIN, 'cluster', 'show', '-c', c.clientConfigFile]).catch((e: { stdout: string }) => e);
      assert.match(shown.stdout, /^PAUSED since \S+: no automatic failover, restart or rejoin/);
      c.killPostmaster(leader);
      await waitFor(
        `${leader}'s agent to say it is paused rather than restarting its primary`,
        async () => (await c.report()).members.find((m) => m.name === leader)?.message?.startsWith('paused, so not acting: restarting PostgreSQL as primary'),
        { timeoutMs: 10_000, intervalMs: 100 },
      );
      // Absence of a failover needs a window: twice the TTL, after which a standby would have taken over.
      await new Promise((r) => setTimeout(r, 2 * c.ttlMs));
      const during = await c.report();
      assert.equal(during.leader, leader, 'nobody took the lock while paused');
      const pid = c.postmasterPid(leader);
      assert.ok(pid === null || !isAlive(pid), 'the crashed primary stayed down');
      assert.equal(during.members.filter((m) => m.role === 'primary' && m.status === '* running').length, 0, 'nobody was promoted');
      await exec(process.execPath, [MAIN, 'resume', '-c', c.clientConfigFile]);
      const t0 = performance.now();
      await waitFor('a write acknowledged after the resume', () => writer.firstAckAfter(t0), { timeoutMs: 30_000, intervalMs: 50 });
      const r = await c.waitStable(30_000);
      assert.equal(r.paused_since, null);
      const events = JSON.parse((await exec(process.execPath, [MAIN, 'cluster', 'events', '-c', c.clientConfigFile, '--json'])).stdout) as { kind: string }[];
      const kinds = events.map((e) => e.kind);
      assert.ok(kinds.includes('paused') && kinds.includes('resumed'), kinds.join());
    });

    it('a standby postmaster killed: restarted and streaming again by itself', async () => {
      const leader = await leaderOf();
      const standby = c.endpoints.find((e) => e.name !== leader)!.name;
      const old = c.killPostmaster(standby);
      await waitFor(
        `${standby} restarted with a new postmaster`,
        () => {
          const pid = c.postmasterPid(standby);
          return pid !== null && pid !== old;
        },
        { timeoutMs: 15_000 },
      );
      const r = await c.waitStable(30_000);
      assert.equal(r.leader, leader, 'no failover for a standby crash');
    });

    it('host crash of the primary: a standby takes over after the TTL; writes resume', async () => {
      const leader = await leaderOf();
      const t0 = performance.now();
      await c.crashHost(leader);
      const ack = await waitFor('a write acknowledged on another node', () => writer.firstAckAfter(t0, (a) => a.node !== leader), { timeoutMs: c.ttlMs + 20_000, intervalMs: 50 });
      const took = (ack.at - t0) / 1000;
      console.log(`# ${backend}: host crash -> writes on ${ack.node} after ${took.toFixed(2)} s (ttl ${c.ttlMs / 1000} s)`);
      assert.ok(took <= c.ttlMs / 1000 + 5, `failover took ${took.toFixed(1)} s, more than ttl + 5 s`);
      const newLeader = await leaderOf();
      assert.notEqual(newLeader, leader);
    });

    it('cluster show marks the crashed node unreachable, names it in warnings, exits 1 (seed 000)', async () => {
      const r0 = await c.report();
      const down = r0.members.find((m) => m.status === '? unreachable');
      assert.ok(down, 'the crashed node is shown as unreachable');
      const err = await execP(process.execPath, [MAIN, 'cluster', 'show', '-c', c.clientConfigFile]).then(
        () => null,
        (e) => e,
      );
      assert.equal(err?.code, 1, 'exit 1 with warnings');
      assert.match(err.stdout, new RegExp(`${down.name}\\s+\\| \\w+\\s+\\| \\? unreachable`));
      assert.match(err.stdout, /WARNING: following issues were detected/);
      assert.match(err.stdout, new RegExp(`node "${down.name}" \\(ID: ${down.id}\\) is registered as an active \\w+ but is unreachable`));
    });

    it('the old primary comes back as a streaming standby by itself', async () => {
      const r0 = await c.report();
      const down = r0.members.find((m) => m.status === '? unreachable')!.name;
      await c.restartHost(down);
      const r = await c.waitStable(60_000);
      const back = r.members.find((m) => m.name === down)!;
      assert.equal(back.role, 'standby');
      assert.equal(back.upstream, r.leader);
      // It rejoined with pg_rewind as the least-privilege rewind role: a rewind that failed for
      // want of a grant would have fallen back to a full clone (rewind_failed, then cloned).
      const events = (JSON.parse((await cli('cluster', 'events', '--since', '10m', '--json', '-c', c.clientConfigFile)).stdout) as ClusterEvent[]).filter((e) => e.node === down);
      assert.ok(
        events.some((e) => e.kind === 'rewound'),
        `a rewound event from ${down}: ${JSON.stringify(events.map((e) => e.kind))}`,
      );
      assert.ok(!events.some((e) => e.kind === 'rewind_failed'), `no rewind_failed: ${JSON.stringify(events.filter((e) => e.kind === 'rewind_failed'))}`);
      const [role] = await sqlRows(port(r.leader!), c.cred, "SELECT rolsuper FROM pg_roles WHERE rolname = 'pgwarden_rewind'");
      assert.equal(role?.rolsuper, false, 'the rewind role exists and is no superuser');
      // As a standby it keeps a slot for every other member (for after a promotion), moved up to
      // where each member has got: none stays behind to pin WAL.
      const [{ lsn }] = (await sqlRows(port(r.leader!), c.cred, 'SELECT pg_current_wal_lsn()::text AS lsn')) as [{ lsn: string }];
      await waitFor(
        `${down}'s slots for the others to move past ${lsn}`,
        async () => {
          const slots = await sqlRows(port(down), c.cred, `SELECT slot_name, restart_lsn >= '${lsn}' AS moved FROM pg_replication_slots WHERE slot_type = 'physical' ORDER BY 1`);
          const others = r.members
            .filter((m) => m.name !== down)
            .map((m) => m.name)
            .sort();
          return JSON.stringify(slots.map((x) => x.slot_name)) === JSON.stringify(others) && slots.every((x) => x.moved === true);
        },
        { timeoutMs: 20_000 },
      );
    });

    it('switchover with no lost commit: every acknowledged id is on the new primary', async () => {
      const from = await leaderOf();
      const to = c.endpoints.find((e) => e.name !== from)!.name;
      const acked = writer.acks.length;
      await waitFor('the writer to commit on the current primary', () => writer.acks.length > acked + 5, { timeoutMs: 10_000 });
      const { stdout } = await exec(process.execPath, [MAIN, 'switchover', '-c', c.clientConfigFile, '--to', to, '--json']);
      const res = JSON.parse(stdout.trim().split('\n').pop()!);
      assert.equal(res.to, to);
      console.log(`# ${backend}: switchover ${from} -> ${to} in ${res.seconds.toFixed(2)} s`);
      const t1 = performance.now();
      await waitFor('a write acknowledged on the new primary', () => writer.firstAckAfter(t1, (a) => a.node === to), { timeoutMs: 10_000 });
      const present = await idsOn(port(to), c.cred);
      const before = writer.acks.filter((a) => a.node === from);
      const lost = before.filter((a) => !present.has(a.id));
      assert.deepEqual(
        lost.map((a) => a.id),
        [],
        'ids acknowledged by the old primary are all on the new one',
      );
      assert.ok(before.length > 0);
    });

    it('a primary cut off from the store stops taking writes and a standby takes over (fencing)', async (t) => {
      if (!c.isolateFromStore) return t.skip('needs a per-agent store partition: the fault lab does it for etcd');
      const leader = await leaderOf();
      const t0 = performance.now();
      c.isolateFromStore(leader, true);
      try {
        await waitFor(`${leader} to stop accepting writes`, async () => !(await writable(port(leader), c.cred).catch(() => false)), { timeoutMs: c.ttlMs, intervalMs: 100 });
        const fenced = (performance.now() - t0) / 1000;
        const ack = await waitFor('a write acknowledged on another node', () => writer.firstAckAfter(t0, (a) => a.node !== leader), {
          timeoutMs: c.ttlMs + 10_000,
          intervalMs: 50,
        });
        console.log(`# ${backend}: store partition -> old primary fenced after ${fenced.toFixed(2)} s, writes on ${ack.node} after ${((ack.at - t0) / 1000).toFixed(2)} s`);
      } finally {
        c.isolateFromStore(leader, false);
      }
      const r = await c.waitStable(60_000);
      assert.notEqual(r.leader, leader);
      assert.equal(r.members.find((m) => m.name === leader)?.role, 'standby', 'the fenced primary rejoined as a standby');
    });

    it('the event log records the role changes', async () => {
      const { stdout } = await exec(process.execPath, [MAIN, 'cluster', 'events', '-c', c.clientConfigFile, '--json', '-n', '500']);
      const kinds = new Set((JSON.parse(stdout) as { kind: string }[]).map((e) => e.kind));
      for (const k of ['leader_acquired', 'promoted', 'restarted', 'demoted', 'leader_released']) assert.ok(kinds.has(k), `event ${k} recorded (have: ${[...kinds].join(', ')})`);
      assert.ok(!stdout.includes(c.cred.password), 'no password in events');
    });

    it('PostgreSQL runs unprivileged; no password in logs or process titles', async () => {
      for (const e of c.endpoints) {
        const pid = c.postmasterPid(e.name)!;
        const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
        if (process.getuid?.() === 0) assert.notEqual(uid, 0, `${e.name}'s postmaster does not run as root`);
        const procs = instancePids({ dataDir: c.dataDir(e.name), binary: join(DEFAULT_BIN_DIR, 'postgres') });
        assert.ok(procs.length > 3, `${e.name}: the postmaster and its children are found`);
        for (const p of procs) {
          try {
            assert.ok(!readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(c.cred.password), `no password in the title of ${p}`);
          } catch (err) {
            if (err instanceof assert.AssertionError) throw err;
          }
        }
      }
      const logs = c.logs();
      assert.ok(logs.length > 1000, 'the agents logged');
      assert.ok(!logs.includes(c.cred.password), 'no password in the agent logs');
    });

    it('REST API: /primary and /replica answer by role; mutating calls need the token', async () => {
      const r = await c.report();
      const leader = r.members.find((m) => m.name === r.leader)!;
      const standby = r.members.find((m) => m.role === 'standby' && m.status === 'running')!;
      // Over HTTPS with a client certificate when the agents serve api.tls.
      const status = async (url: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
        (await httpCall(url, { ...o, timeoutMs: 5000, maxBytes: 1 << 20, tls: c.apiTls ?? null })).status;
      assert.equal(await status(`${leader.api_url}/primary`), 200);
      assert.equal(await status(`${standby.api_url}/primary`), 503);
      assert.equal(await status(`${standby.api_url}/replica`), 200);
      assert.equal(await status(`${leader.api_url}/replica`), 503);
      assert.equal(await status(`${standby.api_url}/replica?lag=100000000`), 200);
      assert.equal(await status(`${leader.api_url}/health`), 200);
      const post = { method: 'POST', body: '{}' };
      assert.equal(await status(`${leader.api_url}/switchover`, { ...post, headers: { 'content-type': 'application/json', authorization: 'Bearer wrong-token-123' } }), 401);
      assert.equal(await status(`${leader.api_url}/switchover`, { ...post, headers: { 'content-type': 'application/json' } }), 401);
      assert.equal((await c.report()).leader, r.leader, 'a refused call changes nothing');
    });
  });
}
