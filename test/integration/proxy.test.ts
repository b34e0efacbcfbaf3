/**
 * The proxy on a real 3-node cluster (the one embedded in `pgwarden up`): routing, relayed
 * authentication, self-healing node status, operator detach shared by two proxies, bad input,
 * and a primary crash seen from clients.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startProxy, type RunningProxy } from '../../src/compose/proxy.js';
import { throwawayCa } from '../../src/local/throwaway-ca.js';
import { proxyConfigSchema, validate } from '../../src/config/index.js';
import { MemoryStore } from '../../src/store/memory.js';
import { waitFor } from '../../src/util/deadline.js';
import { silentLogger } from '../../src/util/log.js';
import { MAIN, memoryCluster, type ClusterHarness } from '../support/cluster.js';
import { freePorts } from '../support/ports.js';

const exec = promisify(execFile);

describe('proxy on real PostgreSQL', { timeout: 300_000 }, () => {
  let c: ClusterHarness;
  let rw: number;
  let ro: number;
  let password: string;
  const extra: RunningProxy[] = [];

  const client = async (port: number, user = 'postgres', pw = password) => {
    const cl = new pg.Client({ host: '127.0.0.1', port, user, password: pw, database: 'postgres', connectionTimeoutMillis: 40_000 });
    cl.on('error', () => {});
    await cl.connect();
    return cl;
  };
  const one = async (port: number, sql: string, user?: string, pw?: string) => {
    const cl = await client(port, user, pw);
    try {
      return (await cl.query(sql)).rows;
    } finally {
      await cl.end().catch(() => {});
    }
  };
  const nodes = () => c.up!.proxy.proxy.poolNodeRows(null);

  before(async () => {
    c = await memoryCluster({ pgHba: ['host all md5_user 127.0.0.1/32 md5'] });
    await c.waitStable(120_000);
    rw = c.up!.proxyPorts.rw;
    ro = c.up!.proxyPorts.ro;
    password = c.cred.password;
    process.env.PGW_TEST_PROXY_PW = password;
    await waitFor('the proxy to see every node up', () => nodes().every((n) => n.status === 'up') && nodes().length === 3, { timeoutMs: 10_000 });
  });
  after(async () => {
    for (const p of extra) await p.stop();
    await c?.stop();
  });

  it('the read-write port reaches the primary; writes land there', async () => {
    const r = await c.report();
    const primaryPort = r.members.find((m) => m.name === r.leader)!.port;
    const [row] = await one(rw, 'SELECT inet_server_port() AS port, pg_is_in_recovery() AS rec');
    assert.equal(row.port, primaryPort);
    assert.equal(row.rec, false);
    await one(rw, 'CREATE TABLE IF NOT EXISTS via_proxy (v int); INSERT INTO via_proxy VALUES (1)');
  });

  it('the read-only port spreads sessions over the standbys', async () => {
    // A standby serves reads once the proxy's own check saw it streaming, which may come a check
    // interval after the agents reported the cluster stable: sample until both served one.
    const seen = new Set<number>();
    let onPrimary = 0;
    await waitFor(
      'both standbys to serve a read-only session',
      async () => {
        const [row] = await one(ro, 'SELECT inet_server_port() AS port, pg_is_in_recovery() AS rec');
        if (row.rec) seen.add(row.port);
        else onPrimary++;
        return seen.size === 2;
      },
      { timeoutMs: 20_000, intervalMs: 10 },
    );
    assert.equal(onPrimary, 0, 'no read-only session on the primary');
  });

  it('md5 and SCRAM users authenticate through the proxy, which holds no password', async () => {
    await one(
      rw,
      "SET password_encryption = 'md5'; CREATE ROLE md5_user LOGIN PASSWORD 'md5-secret'; RESET password_encryption; CREATE ROLE scram_user LOGIN PASSWORD 'scram-secret'",
    );
    await waitFor('the roles on the standbys', async () => (await one(ro, "SELECT count(*)::int AS n FROM pg_roles WHERE rolname IN ('md5_user', 'scram_user')"))[0].n === 2, {
      timeoutMs: 10_000,
    });
    for (const port of [rw, ro]) {
      assert.equal((await one(port, 'SELECT current_user AS u', 'md5_user', 'md5-secret'))[0].u, 'md5_user');
      assert.equal((await one(port, 'SELECT current_user AS u', 'scram_user', 'scram-secret'))[0].u, 'scram_user');
      await assert.rejects(one(port, 'SELECT 1', 'scram_user', 'wrong'), /password authentication failed/);
    }
  });

  it('health checks log in as the monitoring role the leader created (pg_monitor, no superuser)', async () => {
    const rows = await one(
      rw,
      "SELECT DISTINCT a.usename, r.rolsuper, pg_has_role(a.usename, 'pg_monitor', 'member') AS monitor FROM pg_stat_activity a JOIN pg_roles r ON r.rolname = a.usename WHERE a.application_name = 'pgwarden-proxy-health'",
    );
    assert.deepEqual(rows, [{ usename: 'pgwarden_monitor', rolsuper: false, monitor: true }]);
  });

  it('SHOW POOL_NODES answers with the pgpool columns', async () => {
    const rows = await one(ro, 'SHOW POOL_NODES');
    assert.equal(rows.length, 3);
    assert.deepEqual(Object.keys(rows[0]), ['node_id', 'hostname', 'port', 'status', 'lb_weight', 'role', 'select_cnt', 'load_balance_node', 'replication_delay']);
    assert.deepEqual(
      rows.map((r) => r.status),
      ['up', 'up', 'up'],
    );
    assert.equal(rows.filter((r) => r.load_balance_node === 'true').length, 1, "this session's node is marked");
  });

  it('a standby that dies is down within 2 s, reads keep working; back, it is up again by itself', async () => {
    const r = await c.report();
    const victim = r.members.find((m) => m.role === 'standby')!;
    const t0 = performance.now();
    // The whole host, so that its agent does not restart PostgreSQL before the proxy could tell.
    await c.crashHost(victim.name);
    await waitFor(`${victim.name} marked down`, () => nodes().find((n) => n.port === victim.port)?.status === 'down', { timeoutMs: 2500, intervalMs: 50 });
    console.log(`# proxy: dead standby out of the pool after ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    for (let i = 0; i < 5; i++) assert.equal((await one(ro, 'SELECT 1 AS x'))[0].x, 1);
    await c.restartHost(victim.name);
    await waitFor(`${victim.name} up again without an operator`, () => nodes().find((n) => n.port === victim.port)?.status === 'up', { timeoutMs: 20_000, intervalMs: 100 });
  });

  it('detach and attach: two proxies agree, because the choice lives in the store', async () => {
    const [a, b2, adm] = await freePorts(3);
    const second = await startProxy(
      validate(proxyConfigSchema, {
        store: { type: 'memory' },
        listen_rw: `127.0.0.1:${a}`,
        listen_ro: `127.0.0.1:${b2}`,
        admin_listen: `127.0.0.1:${adm}`,
        health_check: { user: 'postgres', password_env: 'PGW_TEST_PROXY_PW' },
      }),
      new MemoryStore(c.up!.backend, 10_000),
      silentLogger,
    );
    extra.push(second);
    const standby = (await c.report()).members.find((m) => m.role === 'standby')!;
    await exec(process.execPath, [MAIN, 'node', 'detach', standby.name, '-c', c.clientConfigFile]);
    for (const p of [c.up!.proxy.proxy, second.proxy]) {
      await waitFor('the detach in every proxy', () => p.poolNodeRows(null).find((n) => n.port === standby.port)?.status === 'detached', { timeoutMs: 3000, intervalMs: 50 });
    }
    for (let i = 0; i < 10; i++) assert.notEqual((await one(ro, 'SELECT inet_server_port() AS p'))[0].p, standby.port);
    const { stdout } = await exec(process.execPath, [MAIN, 'show', 'nodes', '-c', c.up!.proxyFile, '--json']);
    assert.equal(JSON.parse(stdout).find((n: { port: number }) => n.port === standby.port).status, 'detached');
    await exec(process.execPath, [MAIN, 'node', 'attach', String(standby.id), '-c', c.clientConfigFile]);
    for (const p of [c.up!.proxy.proxy, second.proxy]) {
      await waitFor('the attach in every proxy', () => p.poolNodeRows(null).find((n) => n.port === standby.port)?.status === 'up', { timeoutMs: 3000, intervalMs: 50 });
    }
  });

  it('TLS: with a certificate the proxy terminates TLS for clients that ask; without one it refuses SSLRequest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgw-proxy-tls-'));
    try {
      const ca = await throwawayCa(dir);
      const [a, b2] = await freePorts(2);
      const tlsProxy = await startProxy(
        validate(proxyConfigSchema, {
          store: { type: 'memory' },
          listen_rw: `127.0.0.1:${a}`,
          listen_ro: `127.0.0.1:${b2}`,
          health_check: { user: 'postgres', password_env: 'PGW_TEST_PROXY_PW' },
          tls: { cert_file: ca.serverCert, key_file: ca.serverKey },
        }),
        new MemoryStore(c.up!.backend, 10_000),
        silentLogger,
      );
      extra.push(tlsProxy);
      // Verified against our certificate: the session really runs over TLS, end to end through the relay.
      const ssl = { ca: readFileSync(ca.caFile), servername: 'localhost' };
      for (const port of [a!, b2!]) {
        const cl = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres', ssl });
        await cl.connect();
        assert.equal((await cl.query("SELECT repeat('x', 100000) AS big")).rows[0].big.length, 100_000);
        assert.equal((await cl.query('SHOW POOL_NODES')).rows.length, 3);
        await cl.end();
      }
      assert.equal((await one(a!, 'SELECT 1 AS x'))[0].x, 1, 'plain clients still work');
      const refused = new pg.Client({ host: '127.0.0.1', port: rw, user: 'postgres', password, database: 'postgres', ssl: { rejectUnauthorized: false } });
      await assert.rejects(refused.connect(), /does not support SSL/, 'a proxy without tls: answers N');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a CancelRequest sent to the proxy reaches the backend that owns the key', async () => {
    for (const port of [rw, ro]) {
      const cl = await client(port);
      const { processID, secretKey } = cl as unknown as { processID: number; secretKey: number };
      const running = cl.query('SELECT pg_sleep(30)').then(
        () => 'finished',
        (e: { code?: string }) => e.code,
      );
      // The backend runs the statement on one of the nodes: cancel once it does.
      await waitFor(
        `backend ${processID} to run pg_sleep`,
        async () => {
          const rows = await Promise.all(
            c.up!.ports.map((n) => one(n.pg, `SELECT 1 FROM pg_stat_activity WHERE pid = ${processID} AND state = 'active' AND query LIKE '%pg_sleep%'`)),
          );
          return rows.some((r) => r.length > 0);
        },
        { timeoutMs: 10_000, intervalMs: 50 },
      );
      const packet = Buffer.alloc(16);
      packet.writeInt32BE(16, 0);
      packet.writeInt32BE(80877102, 4);
      packet.writeInt32BE(processID, 8);
      packet.writeInt32BE(secretKey, 12);
      const s = connect(port, '127.0.0.1', () => s.end(packet));
      s.on('error', () => {});
      assert.equal(await running, '57014', 'the statement was cancelled');
      await cl.end();
    }
  });

  it('garbage, absurd lengths and oversized startup packets close that connection only', async () => {
    const keep = await client(rw);
    const probes = [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0]),
      Buffer.concat([Buffer.from([0, 0, 0x30, 0x39]), Buffer.alloc(12_341, 1)]),
    ];
    for (const bytes of probes) {
      const closed = await new Promise<boolean>((resolve) => {
        const s = connect(rw, '127.0.0.1', () => s.write(bytes));
        s.on('data', () => {});
        s.on('close', () => resolve(true));
        s.on('error', () => {});
        setTimeout(() => resolve(false), 3000);
      });
      assert.equal(closed, true, 'the bad connection is closed');
    }
    // A client that sends a valid startup and then an absurd message length gets 08P01.
    const err = await new Promise<string>((resolve) => {
      const s = connect(rw, '127.0.0.1');
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.includes(Buffer.from('08P01'))) resolve('08P01');
      });
      s.on('close', () => resolve(buf.toString('latin1')));
      s.on('error', () => {});
      s.once('connect', () => {
        const params = Buffer.from('user\0postgres\0database\0postgres\0\0');
        const head = Buffer.alloc(8);
        head.writeInt32BE(8 + params.length);
        head.writeInt32BE(196608, 4);
        s.write(Buffer.concat([head, params]));
        // Once the server answered the startup (its authentication request), the session relays.
        s.once('data', () => s.write(Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff])));
      });
    });
    assert.equal(err, '08P01');
    assert.equal((await keep.query('SELECT 1 AS x')).rows[0].x, 1, 'other clients are untouched');
    await keep.end();
  });

  it('SHOW POOL_NODES is not answered before the backend accepted the login', async () => {
    const reply = await new Promise<Buffer>((resolve) => {
      let buf = Buffer.alloc(0);
      const s = connect(ro, '127.0.0.1', () => {
        const params = Buffer.from('user\0nobody_at_all\0database\0postgres\0\0');
        const head = Buffer.alloc(8);
        head.writeInt32BE(8 + params.length);
        head.writeInt32BE(196608, 4);
        const q = Buffer.from('SHOW POOL_NODES\0');
        const qHead = Buffer.alloc(5);
        qHead.writeUInt8(0x51);
        qHead.writeInt32BE(4 + q.length, 1);
        s.write(Buffer.concat([head, params, qHead, q]));
      });
      s.on('data', (d: Buffer) => (buf = Buffer.concat([buf, d])));
      s.on('close', () => resolve(buf));
      s.on('error', () => {});
    });
    assert.equal(reply.includes(Buffer.from('node_id')), false, 'no pool rows before the login');
    assert.equal(reply.includes(Buffer.from('08P01')), true, `the backend refuses the query in place of a password: ${reply.toString('latin1')}`);
  });

  it('read-only sessions on a standby that is switched over to: ended, and not one write succeeds on the read-only port', async () => {
    const before = await c.waitStable(60_000);
    const target = before.members.find((m) => m.name !== before.leader)!;
    await one(rw, 'CREATE TABLE IF NOT EXISTS ro_probe (v int)');
    // Before it is replayed there, an INSERT fails with 42P01 (parse) and not 25006 (read-only).
    await waitFor(`ro_probe replayed on ${target.name}`, async () => (await one(target.port, "SELECT to_regclass('ro_probe') IS NOT NULL AS ok"))[0].ok === true, {
      timeoutMs: 15_000,
    });
    const onTarget: pg.Client[] = [];
    // Sessions land by weight: keep those that reached the target (no affinity for this application).
    for (let i = 0; onTarget.length < 3 && i < 60; i++) {
      const cl = await client(ro);
      if ((await cl.query('SELECT inet_server_port() AS p')).rows[0].p === target.port) onTarget.push(cl);
      else await cl.end();
    }
    assert.equal(onTarget.length, 3, `three read-only sessions on ${target.name}`);
    let writes = 0;
    let stop = false;
    const ended: string[] = [];
    const writers = onTarget.map(async (cl, i) => {
      // The proxy's FATAL may arrive between two queries: then it comes as the client's error event.
      let fatal = '';
      cl.on('error', (e: Error & { code?: string }) => (fatal = `${e.code ?? ''} ${e.message}`));
      while (!stop) {
        try {
          await cl.query(`INSERT INTO ro_probe VALUES (${i})`);
          writes++;
        } catch (err) {
          const e = err as { code?: string; message: string };
          if (e.code !== '25006') {
            ended.push(fatal || `${e.code ?? ''} ${e.message}`);
            return;
          }
        }
      }
    });
    const { stdout } = await exec(process.execPath, [MAIN, 'switchover', '--to', target.name, '-c', c.clientConfigFile, '--json']);
    await waitFor('every read-only session on the new primary to end', () => ended.length === 3, { timeoutMs: 10_000 });
    stop = true;
    await Promise.all(writers);
    assert.equal(writes, 0, 'no write through the read-only port');
    for (const e of ended) assert.match(e, /57P01 pgwarden: terminating connection: \w+ became the primary; the read-only port serves standbys only/);
    assert.equal((await c.report()).leader, target.name, stdout);
    // Right after the switchover no standby may stream yet (the old primary restarts as one, the
    // other follows the new primary): the read-only port refuses until one does.
    await waitFor('the read-only port to serve a standby again', async () => (await one(ro, 'SELECT pg_is_in_recovery() AS r').catch(() => null))?.[0].r === true, {
      timeoutMs: 15_000,
    });
    for (let i = 0; i < 10; i++) assert.equal((await one(ro, 'SELECT pg_is_in_recovery() AS r'))[0].r, true, 'new read-only sessions land on standbys');
    await Promise.all(onTarget.map((cl) => cl.end().catch(() => {})));
  });

  it('writes through the read-write port resume right after the promotion (no health-check interval in between)', async () => {
    const before = await c.waitStable(60_000);
    const target = before.members.find((m) => m.name !== before.leader)!;
    await one(rw, 'CREATE TABLE IF NOT EXISTS gap_probe (at timestamptz)');
    // The promotion as the target itself shows it, polled directly every few milliseconds.
    const direct = await client(target.port);
    direct.on('error', () => {});
    let promotedAt = 0;
    const watch = (async () => {
      while (promotedAt === 0) {
        if (!(await direct.query('SELECT pg_is_in_recovery() AS r')).rows[0].r) promotedAt = performance.now();
        else await new Promise((r) => setTimeout(r, 2));
      }
    })();
    let firstWrite = 0;
    // Just after the previous switchover the old primary may not show as streaming yet: a refusal changes nothing, so ask again.
    const switchover = waitFor(
      `a switchover to ${target.name} accepted`,
      () =>
        exec(process.execPath, [MAIN, 'switchover', '--to', target.name, '-c', c.clientConfigFile]).then(
          () => true,
          (err: { stderr?: string }) => {
            if (/not a healthy streaming standby/.test(err.stderr ?? '')) return false;
            throw err;
          },
        ),
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    await waitFor(
      'a write through the proxy after the promotion',
      async () => {
        try {
          await one(rw, 'INSERT INTO gap_probe VALUES (now())');
          if (promotedAt > 0 && firstWrite === 0) firstWrite = performance.now();
          return firstWrite > 0;
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, intervalMs: 1 },
    );
    await Promise.all([switchover, watch]);
    await direct.end();
    const gapMs = firstWrite - promotedAt;
    console.log(`# proxy: first write through the read-write port ${gapMs.toFixed(0)} ms after the promotion`);
    assert.ok(gapMs < 500, `writes resumed ${gapMs.toFixed(0)} ms after the promotion (the health interval is 1 s)`);
  });

  it('switchover drains: idle sessions end at once, a transaction may finish, new sessions wait and reach the new primary', async () => {
    const before = await c.report();
    const oldPrimary = before.leader!;
    await one(rw, 'CREATE TABLE IF NOT EXISTS drained (v int)');
    const errorOf = (cl: pg.Client) =>
      new Promise<string>((resolve) => {
        cl.removeAllListeners('error');
        cl.on('error', (e: Error & { code?: string }) => resolve(`${e.code ?? ''} ${e.message}`));
      });
    const idle = await client(rw);
    const idleEnded = errorOf(idle);
    const inTx = await client(rw);
    await inTx.query('BEGIN');
    await inTx.query('INSERT INTO drained VALUES (1)');
    const inTxEnded = errorOf(inTx);
    const t0 = performance.now();
    const switchover = exec(process.execPath, [MAIN, 'switchover', '-c', c.clientConfigFile, '--drain-timeout', '20', '--json']);
    assert.match(await idleEnded, /57P01.*switchover in progress/, 'the idle session is ended at once');
    const idleAfter = (performance.now() - t0) / 1000;
    // A new read-write session during the drain waits for the next primary.
    const waiting = one(rw, 'SELECT inet_server_port() AS port, (SELECT count(*)::int FROM drained) AS n');
    await inTx.query('INSERT INTO drained VALUES (2)');
    await inTx.query('COMMIT');
    assert.match(await inTxEnded, /57P01.*switchover in progress/, 'the session ends right after its transaction');
    const { stdout } = await switchover;
    const took = JSON.parse(stdout).seconds as number;
    const after = await c.report();
    assert.notEqual(after.leader, oldPrimary);
    const [row] = await waiting;
    assert.equal(row.port, after.members.find((m) => m.name === after.leader)!.port, 'the waiting session reached the new primary');
    assert.equal(row.n, 2, 'the drained transaction committed and is on the new primary');
    assert.ok(took < 15, `the switchover did not wait out the drain timeout (${took} s)`);
    console.log(`# drain: idle session ended after ${idleAfter.toFixed(2)} s; switchover ${took.toFixed(1)} s`);
    await Promise.all([idle.end().catch(() => {}), inTx.end().catch(() => {})]);
  });

  it('switchover drain timeout: a transaction left open is cut, the switchover goes on', async () => {
    await c.waitStable(60_000);
    const stuck = await client(rw);
    await stuck.query('BEGIN');
    await stuck.query('INSERT INTO drained VALUES (3)');
    const t0 = performance.now();
    await exec(process.execPath, [MAIN, 'switchover', '-c', c.clientConfigFile, '--drain-timeout', '2']);
    const took = (performance.now() - t0) / 1000;
    assert.ok(took >= 2, `the switchover waited for the drain timeout (${took} s)`);
    await assert.rejects(stuck.query('COMMIT'), 'the open transaction was cut');
    assert.equal((await one(rw, 'SELECT count(*)::int AS n FROM drained WHERE v = 3'))[0].n, 0, 'its row was never committed');
    await stuck.end().catch(() => {});
  });

  it('primary crash: its sessions end with an error; a new read-write connection waits and reaches the new primary', async () => {
    const r = await c.report();
    const held = await client(rw);
    const gone = new Promise<string>((resolve) => held.once('error', (e) => resolve(e.message)));
    await c.crashHost(r.leader!);
    const newConn = one(rw, 'SELECT inet_server_port() AS port, pg_is_in_recovery() AS rec');
    assert.match(
      await Promise.race([
        gone,
        held.query('SELECT 1').then(
          () => 'answered',
          (e) => e.message,
        ),
      ]),
      /terminat|Connection|closed|ended/i,
    );
    const [row] = await newConn;
    assert.equal(row.rec, false);
    const after = await c.report();
    assert.notEqual(after.leader, r.leader);
    assert.equal(row.port, after.members.find((m) => m.name === after.leader)!.port);
  });
});
