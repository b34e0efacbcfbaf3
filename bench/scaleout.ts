/**
 * npm run bench:scaleout [-- --size 2GB] [-- --rows N] [-- --seconds S]
 *
 * Online scale-out, in one run on one `pgwarden up` primary holding a pgbench database of the
 * given size: the primary's TPS alone (pgbench TPC-B-like, 4 clients, S seconds); a bare
 * `pg_basebackup -X stream` of the same data under that load; `pgwarden node add` under the same
 * load (ratio of the two times; goal <= 1.15; and the primary's TPS during the clone as a ratio of
 * its TPS alone); then `pgwarden check consistency` (cold, then again) against a plain
 * `SELECT count(*)` of every table on the primary (ratio of the first; goal <= 3). With --rows N, the field report instead: N rows
 * inserted in batches while a second node is added, then the counts compared. Last line: JSON.
 */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { DEFAULT_BIN_DIR } from '../src/config/schema.js';
import { up, type UpCluster } from '../src/local/up.js';
import { run } from '../src/postgres/ctl.js';
import { waitFor } from '../src/util/deadline.js';
import { mkdirOwned, resolveOsUser } from '../src/postgres/os-user.js';
import { killInstance, MAIN } from '../test/support/cluster.js';
import { sql } from '../test/support/pgbench.js';
import { freePortBase } from '../test/support/ports.js';

const execP = promisify(execFile);
const { values } = parseArgs({ options: { size: { type: 'string', default: '2GB' }, rows: { type: 'string' }, seconds: { type: 'string', default: '15' } } });
const sizeMb = parseSize(values.size!);
const rows = values.rows === undefined ? null : Number(values.rows);
const seconds = Number(values.seconds);
if (rows !== null && !(Number.isInteger(rows) && rows > 0)) usage('--rows must be a positive whole number');
if (!(Number.isInteger(seconds) && seconds > 0)) usage('--seconds must be a positive whole number');
const DB = 'bench';
const r2 = (x: number) => Math.round(x * 100) / 100;

function usage(why: string): never {
  console.error(`${why}\nusage: npm run bench:scaleout [-- --size 2GB] [-- --rows N] [-- --seconds S]`);
  process.exit(2);
}

function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(MB|GB)$/i.exec(text);
  if (!m) usage('--size: a size such as 500MB or 2GB');
  return Number(m[1]) * (m[2]!.toUpperCase() === 'GB' ? 1024 : 1);
}

/**
 * pgbench TPC-B-like on the primary for `secs`, or until `stop` resolves: the mean of its per-second
 * progress reports, so that an early stop (pgbench prints no summary when interrupted) still counts.
 */
function load(port: number, password: string, secs: number, stop?: Promise<unknown>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('pgbench', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-n', '-c', '4', '-j', '2', '-P', '1', '-T', String(secs), DB], {
      env: { ...process.env, PGPASSWORD: password },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const rates: number[] = [];
    let tail = '';
    const read = (d: Buffer) => {
      tail = (tail + d.toString()).slice(-2000);
      for (const m of d.toString().matchAll(/progress: [\d.]+ s, ([\d.]+) tps/g)) rates.push(Number(m[1]));
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    // Ended either way; the caller sees the stopping promise's own failure.
    const end = () => child.kill('SIGINT');
    stop?.then(end, end);
    child.on('exit', () => {
      if (rates.length === 0) return reject(new Error(`pgbench reported no progress: ${tail}`));
      resolve(rates.reduce((a, b) => a + b, 0) / rates.length);
    });
  });
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; s: number }> {
  const t0 = performance.now();
  const value = await f();
  return { value, s: (performance.now() - t0) / 1000 };
}

async function bareBasebackup(c: UpCluster, port: number): Promise<number> {
  const user = resolveOsUser();
  const target = mkdtempSync(join(tmpdir(), 'pgw-bench-bb-'));
  chmodSync(target, 0o755);
  mkdirOwned(user, join(target, 'data'));
  const password = readFileSync(join(c.dir, 'secrets', 'replication'), 'utf8').trim();
  try {
    const { s } = await timed(() =>
      run(
        user,
        join(DEFAULT_BIN_DIR, 'pg_basebackup'),
        ['-h', '127.0.0.1', '-p', String(port), '-U', 'replicator', '-D', join(target, 'data'), '-X', 'stream', '-c', 'fast', '--no-manifest'],
        {
          env: { PGPASSWORD: password },
        },
      ),
    );
    return s;
  } finally {
    rmSync(target, { recursive: true, force: true });
  }
}

/** The field report: `rows` rows in batches of 50,000 while a node is added; returns when both are done. */
async function insertWhileAdding(c: UpCluster, port: number, total: number): Promise<{ addS: number; inserted: number }> {
  const password = c.superuser.password;
  await sql(port, password, DB, 'CREATE TABLE field_report (id bigint PRIMARY KEY, payload text NOT NULL)');
  let inserted = 0;
  const inserting = (async () => {
    while (inserted < total) {
      const n = Math.min(50_000, total - inserted);
      await sql(port, password, DB, `INSERT INTO field_report SELECT g, md5(g::text) FROM generate_series(${inserted + 1}, ${inserted + n}) g`);
      inserted += n;
    }
  })();
  const add = await timed(() => execP(process.execPath, [MAIN, 'node', 'add', '-c', c.clusterFile]));
  await inserting;
  return { addS: add.s, inserted };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-bench-scale-'));
  const cluster = await up({ dir, nodes: 1, portBase: await freePortBase(110) });
  try {
    await cluster.waitStable(120_000);
    const port = cluster.ports[0]!.pg;
    const password = cluster.superuser.password;
    // pgbench scale 1 is about 15 MB on disk.
    const scale = Math.max(1, Math.round(sizeMb / 15));
    console.log(`bench:scaleout: a ${sizeMb} MB database (pgbench -i -s ${scale}) on a one-node pgwarden up cluster`);
    await sql(port, password, 'postgres', `CREATE DATABASE ${DB}`);
    await execP('pgbench', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-i', '-q', '-s', String(scale), DB], {
      env: { ...process.env, PGPASSWORD: password },
      maxBuffer: 64 << 20,
    });
    const actualMb = Number((await sql(port, password, 'postgres', `SELECT pg_database_size('${DB}') / 1048576 AS mb`)).rows[0].mb);

    const alone = await load(port, password, seconds);
    console.log(`  primary alone:                      ${alone.toFixed(0)} tps`);
    const bb = await timed(async () => {
      const done = bareBasebackup(cluster, port);
      const tps = await load(port, password, 3600, done);
      return { s: await done, tps };
    });
    console.log(`  pg_basebackup -X stream under load: ${bb.value.s.toFixed(1)} s (${bb.value.tps.toFixed(0)} tps meanwhile)`);

    let add: { s: number; tps: number; inserted: number | null };
    if (rows === null) {
      const added = execP(process.execPath, [MAIN, 'node', 'add', '-c', cluster.clusterFile]);
      const r = await timed(async () => ({ tps: await load(port, password, 3600, added), done: await added }));
      add = { s: r.s, tps: r.value.tps, inserted: null };
    } else {
      const r = await insertWhileAdding(cluster, port, rows);
      add = { s: r.addS, tps: 0, inserted: r.inserted };
    }
    console.log(
      `  pgwarden node add${rows === null ? ' under load' : ` with ${rows} rows inserted`}: ${add.s.toFixed(1)} s${rows === null ? ` (${add.tps.toFixed(0)} tps meanwhile)` : ''}`,
    );

    // The check's own time: the new standby first replays what the load wrote during its clone.
    const lsn = (await sql(port, password, 'postgres', 'SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string;
    for (const p of cluster.ports.slice(1)) {
      await waitFor(`${p.name} to replay ${lsn}`, async () => (await sql(p.pg, password, 'postgres', `SELECT pg_last_wal_replay_lsn() >= '${lsn}' AS ok`)).rows[0].ok === true, {
        timeoutMs: 300_000,
        intervalMs: 100,
      });
    }
    const check = () => timed(() => execP(process.execPath, [MAIN, 'check', 'consistency', '-c', cluster.clusterFile], { maxBuffer: 16 << 20 }));
    // Cold (the new standby's first full read of its copy), then warm.
    const consistency = await check();
    const again = await check();
    const tables = (
      await sql(
        port,
        password,
        DB,
        "SELECT c.oid::regclass::text AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public'",
      )
    ).rows.map((r) => r.t as string);
    const counts = await timed(async () => {
      for (const t of tables) await sql(port, password, DB, `SELECT count(*) FROM ${t}`);
    });
    console.log(`  check consistency: ${consistency.s.toFixed(1)} s (again: ${again.s.toFixed(1)} s); SELECT count(*) of every table: ${counts.s.toFixed(1)} s`);
    if (rows !== null) {
      const n = Number((await sql(port, password, DB, 'SELECT count(*) AS n FROM field_report')).rows[0].n);
      console.log(
        `  field report: ${add.inserted} rows inserted from the start of the add on (it streamed after ${add.s.toFixed(1)} s), ${n} on the primary, check consistency passed`,
      );
    }
    const ratio = add.s / bb.value.s;
    console.log(`  ratio pgwarden / pg_basebackup: ${ratio.toFixed(2)} (goal <= 1.15); consistency / count: ${(consistency.s / counts.s).toFixed(2)} (goal <= 3)`);
    console.log(
      JSON.stringify({
        bench: 'scaleout',
        size_mb: actualMb,
        pgwarden_s: r2(add.s),
        basebackup_s: r2(bb.value.s),
        ratio: r2(ratio),
        primary_tps_ratio_during_clone: rows === null ? r2(add.tps / alone) : null,
        consistency_s: r2(consistency.s),
        count_scan_s: r2(counts.s),
        consistency_ratio: r2(consistency.s / counts.s),
        consistency_again_s: r2(again.s),
        ...(rows === null ? {} : { rows_inserted_during_clone: add.inserted }),
      }),
    );
  } finally {
    await cluster.stop().catch(() => {});
    for (const p of cluster.ports) killInstance(join(dir, 'nodes', p.name, 'data'));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
