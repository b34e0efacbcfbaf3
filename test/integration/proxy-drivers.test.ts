/**
 * Client libraries from other authors through the proxy of `pgwarden up --tls` (TLS required,
 * verified against its throwaway CA; the proxy reaches PostgreSQL over TLS, verify-full): node-postgres and postgres.js (pure JavaScript) and psycopg2
 * (libpq, test/drivers/psycopg2_client.py), plus libpq's pg_dump and pg_restore.
 * - each refuses to go on in plaintext (the proxy refuses it) and logs in with verify-full;
 * - 50 MB bytea in and out with the JavaScript drivers, 300 MB in with node-postgres (out, as hex
 *   text, it would pass V8's longest string), 300 MB out with psycopg2; COPY of 100 MB both ways;
 * - a cancel with postgres.js (sent over TLS) and psycopg2;
 * - a switchover under a writer of each: no acknowledged row lost, the longest gap per driver;
 * - `pg_dump -Fd -j 3` through the read-only port, restored through the read-write port and
 *   compared table by table.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import postgres from 'postgres';
import { waitFor } from '../../src/util/deadline.js';
import { MAIN, memoryCluster, type ClusterHarness } from '../support/cluster.js';

const exec = promisify(execFile);
const PSYCOPG2 = resolve(import.meta.dirname, '../../../test/drivers/psycopg2_client.py');
const MB = 1024 * 1024;

describe('client libraries through the proxy, TLS required (pgwarden up --tls)', { timeout: 900_000 }, () => {
  let c: ClusterHarness;
  let rw: number;
  let ro: number;
  let caFile: string;
  const dir = mkdtempSync(join(tmpdir(), 'pgw-drivers-'));
  const ssl = () => ({ ca: readFileSync(caFile), servername: 'localhost', rejectUnauthorized: true });
  const nodePg = async (port: number) => {
    const cl = new pg.Client({ host: '127.0.0.1', port, user: c.cred.user, password: c.cred.password, database: 'postgres', ssl: ssl(), connectionTimeoutMillis: 30_000 });
    cl.on('error', () => {});
    await cl.connect();
    return cl;
  };
  const pgJs = (port: number, connectTimeoutS = 30) =>
    postgres({
      host: '127.0.0.1',
      port,
      user: c.cred.user,
      password: c.cred.password,
      database: 'postgres',
      ssl: ssl(),
      max: 1,
      onnotice: () => {},
      connect_timeout: connectTimeoutS,
    });
  /** libpq's environment: the password and TLS settings never on a command line. */
  const libpqEnv = () => ({ ...process.env, PGPASSWORD: c.cred.password, PGSSLMODE: 'verify-full', PGSSLROOTCERT: caFile });
  const libpqDsn = (port: number) => `host=127.0.0.1 port=${port} user=${c.cred.user} dbname=postgres`;
  const python = async <T>(action: string, args: Record<string, unknown>): Promise<T> => {
    const { stdout } = await exec('/usr/bin/python3', [PSYCOPG2, action, JSON.stringify(args)], { env: libpqEnv(), maxBuffer: 64 * MB });
    return JSON.parse(stdout) as T;
  };

  before(async () => {
    c = await memoryCluster({ tls: true });
    await c.waitStable(120_000);
    rw = c.up!.proxyPorts.rw;
    ro = c.up!.proxyPorts.ro;
    caFile = c.up!.tls!.caFile;
    await waitFor('the proxy to route to a primary', () => c.up!.proxy.proxy.routes().primary !== null, { timeoutMs: 20_000 });
  });
  after(async () => {
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plaintext is refused to every driver (28000); each logs in with verify-full against the CA', async () => {
    const plainPg = new pg.Client({ host: '127.0.0.1', port: rw, user: c.cred.user, password: c.cred.password, database: 'postgres' });
    await assert.rejects(plainPg.connect(), /TLS is required here/);
    const plainJs = postgres({ host: '127.0.0.1', port: rw, user: c.cred.user, password: c.cred.password, database: 'postgres', ssl: false, max: 1 });
    await assert.rejects(plainJs`SELECT 1`, /TLS is required here/);
    await plainJs.end();
    const py = await python<{ refused: boolean; message: string }>('plaintext', { dsn: libpqDsn(rw) });
    assert.equal(py.refused, true);
    assert.match(py.message, /TLS is required here/);

    const a = await nodePg(rw);
    assert.equal((await a.query('SELECT 1 AS x')).rows[0].x, 1);
    // The proxy's own connections to PostgreSQL run over TLS too: this session's and the health checks'.
    const { rows } = await a.query(
      "SELECT bool_and(s.ssl) FILTER (WHERE a.pid = pg_backend_pid()) AS mine, bool_and(s.ssl) FILTER (WHERE a.application_name = 'pgwarden-proxy-health') AS health FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)",
    );
    assert.deepEqual(rows[0], { mine: true, health: true });
    await a.end();
    const b = pgJs(rw);
    assert.equal((await b`SELECT 1 AS x`)[0]!.x, 1);
    await b.end();
  });

  it('bytea of 50 MB in and out with each driver; 300 MB in with node-postgres, 300 MB out with psycopg2', async () => {
    const value = randomBytes(50 * MB);
    const md5 = createHash('md5').update(value).digest('hex');
    const a = await nodePg(rw);
    const inA = await a.query('SELECT md5($1::bytea) AS h', [value]);
    assert.equal(inA.rows[0].h, md5, 'node-postgres: in');
    const outA = await a.query('SELECT $1::bytea AS v', [value]);
    assert.ok(Buffer.compare(outA.rows[0].v, value) === 0, 'node-postgres: out');
    const big = randomBytes(300 * MB);
    const inBig = await a.query('SELECT md5($1::bytea) AS h', [big]);
    assert.equal(inBig.rows[0].h, createHash('md5').update(big).digest('hex'), 'node-postgres: 300 MB in');
    await a.end();

    const b = pgJs(rw);
    const [inB] = await b`SELECT md5(${value}::bytea) AS h`;
    assert.equal(inB!.h, md5, 'postgres.js: in');
    const [outB] = await b`SELECT ${value}::bytea AS v`;
    assert.ok(Buffer.compare(outB!.v as Buffer, value) === 0, 'postgres.js: out');
    await b.end();

    // psycopg2 sends bytea as a hex literal (the field report's case; 300 MB would pass PostgreSQL's own 1 GB
    // allocation limit there) and reads it as hex text: 300 MB out is a 600 MB DataRow through the proxy.
    const py = await python<{ in_equal: boolean; out_equal: boolean }>('bytea', { dsn: libpqDsn(rw), in_mb: 50, out_mb: 300 });
    assert.deepEqual(py, { in_equal: true, out_equal: true }, 'psycopg2: 50 MB in, 300 MB out');
  });

  it('COPY of 100 MB in and out with each driver', async () => {
    const line = `${'y'.repeat(1000)}\n`;
    const data = line.repeat(Math.floor((100 * MB) / line.length));
    const b = pgJs(rw);
    await b`DROP TABLE IF EXISTS copy_js`;
    await b`CREATE TABLE copy_js (t text)`;
    const writable = await b`COPY copy_js FROM STDIN`.writable();
    await new Promise<void>((ok, fail) => {
      writable.on('error', fail);
      writable.end(data, ok);
    });
    await waitFor('the copied rows', async () => Number((await b`SELECT count(*) AS n FROM copy_js`)[0]!.n) === data.length / line.length, { timeoutMs: 60_000 });
    let outBytes = 0;
    const hash = createHash('md5');
    for await (const chunk of await b`COPY copy_js TO STDOUT`.readable()) {
      outBytes += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
    assert.equal(outBytes, data.length, 'postgres.js: COPY out, every byte');
    assert.equal(hash.digest('hex'), createHash('md5').update(data).digest('hex'), 'postgres.js: COPY out equals what went in');
    await b.end();

    const py = await python<{ bytes: number; equal: boolean }>('copy', { dsn: libpqDsn(rw), mb: 100 });
    assert.equal(py.equal, true, 'psycopg2: COPY in then out, equal');

    // node-postgres has no COPY of its own (pg-copy-streams is another package): a 100 MB row set out instead.
    const a = await nodePg(rw);
    const { rows } = await a.query('SELECT sum(length(t))::bigint AS n, count(*)::int AS rows FROM copy_js');
    assert.equal(Number(rows[0].n) + rows[0].rows, data.length);
    await a.end();
  });

  it('cancel through the proxy: postgres.js (its cancel runs over TLS too) and psycopg2 cancel a running query, without client-side errors', async () => {
    const watch = await nodePg(rw);
    const running = async () => (await watch.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'SELECT pg_sleep(30)%'")).rows[0].n > 0;
    const b = pgJs(rw);
    const q = b`SELECT pg_sleep(30)`;
    const outcome = q.then(
      () => 'finished',
      (e: { code?: string }) => e.code,
    );
    await waitFor('pg_sleep to run', running, { timeoutMs: 10_000, intervalMs: 50 });
    await q.cancel();
    assert.equal(await outcome, '57014', 'postgres.js: the query was cancelled');
    await b.end();
    assert.deepEqual(await python('cancel', { dsn: libpqDsn(rw) }), { code: '57014' }, 'psycopg2: the query was cancelled');
    await watch.end();
  });

  it('a switchover under a writer of each driver: no acknowledged row lost; the longest gap per driver', async () => {
    const before = await c.waitStable(60_000);
    const target = before.members.find((m) => m.name !== before.leader)!;
    const setup = await nodePg(rw);
    await setup.query('CREATE TABLE IF NOT EXISTS acked (id bigint PRIMARY KEY, driver text)');
    await setup.end();
    let stop = false;
    const stopFile = join(dir, 'stop');
    /** A writer that reconnects on any error; its acknowledged ids and the longest time between two. */
    const loop = async (base: number, insert: (id: number) => Promise<void>, reset: () => Promise<void>) => {
      const acked: number[] = [];
      let last = performance.now();
      let gap = 0;
      for (let i = 1; !stop; i++) {
        try {
          await insert(base + i);
          acked.push(base + i);
          const now = performance.now();
          gap = Math.max(gap, now - last);
          last = now;
        } catch {
          await reset().catch(() => {});
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      return { acked, maxGapS: gap / 1000 };
    };
    const conn: { a: pg.Client | null } = { a: null };
    const nodePgWriter = loop(
      1_000_000,
      async (id) => {
        conn.a ??= await nodePg(rw);
        await conn.a.query("INSERT INTO acked VALUES ($1, 'node-postgres')", [id]);
      },
      async () => {
        const old = conn.a;
        conn.a = null;
        await old?.end();
      },
    );
    const b = pgJs(rw);
    const pgJsWriter = loop(
      2_000_000,
      async (id) => void (await b`INSERT INTO acked VALUES (${id}, 'postgres.js')`),
      async () => {},
    );
    const py = python<{ acked: number[]; max_gap_s: number }>('writer', { dsn: libpqDsn(rw), table: 'acked', base: 3_000_000, stop: stopFile });
    await new Promise((r) => setTimeout(r, 1500));
    await exec(process.execPath, [MAIN, 'switchover', '--to', target.name, '-c', c.clientConfigFile]);
    await new Promise((r) => setTimeout(r, 3000));
    stop = true;
    writeFileSync(stopFile, '');
    const results = { 'node-postgres': await nodePgWriter, 'postgres.js': await pgJsWriter, psycopg2: await py.then((r) => ({ acked: r.acked, maxGapS: r.max_gap_s })) };
    await conn.a?.end();
    await b.end();
    const check = await nodePg(rw);
    const { rows } = await check.query<{ id: string }>('SELECT id FROM acked');
    await check.end();
    const have = new Set(rows.map((r) => Number(r.id)));
    for (const [driver, r] of Object.entries(results)) {
      assert.ok(r.acked.length > 10, `${driver} wrote before and after the switchover`);
      assert.deepEqual(
        r.acked.filter((id) => !have.has(id)),
        [],
        `${driver}: no acknowledged row lost`,
      );
      console.log(`# ${driver}: ${r.acked.length} rows acknowledged; longest gap ${r.maxGapS.toFixed(2)} s across the switchover`);
    }
    assert.equal((await c.report()).leader, target.name);
  });

  it('pg_dump -Fd -j 3 through the read-only port: restored through the read-write port, every table equal', async () => {
    const a = await nodePg(rw);
    for (const t of ['dump_a', 'dump_b', 'dump_c', 'dump_d']) {
      await a.query(`DROP TABLE IF EXISTS ${t}; CREATE TABLE ${t} AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 200000) g`);
    }
    const [{ lsn }] = (await a.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows as [{ lsn: string }];
    await a.query('DROP DATABASE IF EXISTS restored');
    await a.query('CREATE DATABASE restored');
    await a.end();
    // Every standby has the tables before the dump reads one, and the proxy reads from them again.
    await c.waitStable(60_000);
    await waitFor('a standby serving reads through the proxy', () => c.up!.proxy.proxy.routes().nodes.some((n) => n.readable), { timeoutMs: 30_000 });
    for (const m of (await c.report()).members) {
      const direct = new pg.Client({
        host: '127.0.0.1',
        port: m.port,
        user: c.cred.user,
        password: c.cred.password,
        database: 'postgres',
        ...(c.cred.ssl ? { ssl: c.cred.ssl } : {}),
      });
      await direct.connect();
      await waitFor(`${m.name} to replay ${lsn}`, async () => (await direct.query(`SELECT pg_last_wal_replay_lsn() >= '${lsn}' OR NOT pg_is_in_recovery() AS ok`)).rows[0].ok, {
        timeoutMs: 30_000,
      });
      await direct.end();
    }
    const out = join(dir, 'dump');
    const env = libpqEnv();
    await exec('pg_dump', ['-Fd', '-j', '3', '-f', out, '-t', 'dump_*', '-d', libpqDsn(ro)], { env });
    assert.ok(existsSync(join(out, 'toc.dat')));
    await exec('pg_restore', ['-j', '3', '-d', libpqDsn(rw).replace('dbname=postgres', 'dbname=restored'), out], { env });
    const digest = async (db: string) => {
      const cl = new pg.Client({ host: '127.0.0.1', port: rw, user: c.cred.user, password: c.cred.password, database: db, ssl: ssl() });
      await cl.connect();
      const rows: string[] = [];
      for (const t of ['dump_a', 'dump_b', 'dump_c', 'dump_d']) {
        rows.push((await cl.query(`SELECT count(*) || ':' || md5(string_agg(id || v, ',' ORDER BY id)) AS d FROM ${t}`)).rows[0].d);
      }
      await cl.end();
      return rows;
    };
    assert.deepEqual(await digest('restored'), await digest('postgres'));
  });
});
