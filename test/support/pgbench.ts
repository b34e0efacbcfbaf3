/**
 * pgbench for the benchmarks and load tests: a database prepared on a cluster's primary (and replayed by every
 * standby), and timed runs parsed into TPS and average latency.
 */
import { spawn } from 'node:child_process';
import pg from 'pg';
import { waitFor } from '../../src/util/deadline.js';
import type { ClusterHarness } from './cluster.js';

export interface PgbenchResult {
  tps: number;
  latencyMs: number;
}

/** `sslmode`: libpq's, e.g. require for runs over TLS (default: libpq's own, prefer). */
export function pgbench(port: number, password: string, db: string, args: readonly string[], secs: number, sslmode?: string): Promise<PgbenchResult> {
  return new Promise((resolve, reject) => {
    const argv = ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-n', ...args, '-T', String(secs), db];
    const env = { ...process.env, PGPASSWORD: password, ...(sslmode ? { PGSSLMODE: sslmode } : {}) };
    const child = spawn('pgbench', argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (secs + 60) * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const tps = /tps = ([\d.]+)/.exec(out);
      const lat = /latency average = ([\d.]+) ms/.exec(out);
      if (code !== 0 || !tps || !lat) return reject(new Error(`pgbench ${argv.join(' ')} failed (exit ${code}): ${out.slice(-800)}`));
      resolve({ tps: Number(tps[1]), latencyMs: Number(lat[1]) });
    });
  });
}

export async function sql(port: number, password: string, db: string, text: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: db, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

/** Creates `db` on the primary, runs pgbench -i there and waits until every standby replayed it. */
export async function prepareDatabase(c: ClusterHarness, primaryPort: number, db: string, scale: number): Promise<void> {
  const pw = c.cred.password;
  await sql(primaryPort, pw, 'postgres', `CREATE DATABASE ${db}`);
  console.log(`pgbench -i -s ${scale} on the primary…`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn('pgbench', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-i', '-q', '-s', String(scale), db], {
      env: { ...process.env, PGPASSWORD: pw },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pgbench -i failed: ${err.slice(-800)}`))));
  });
  const lsn = (await sql(primaryPort, pw, 'postgres', 'SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string;
  for (const e of c.endpoints.filter((x) => x.port !== primaryPort)) {
    await waitFor(`${e.name} to replay ${lsn}`, async () => (await sql(e.port, pw, 'postgres', `SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn AS ok`)).rows[0].ok === true, {
      timeoutMs: 120_000,
      intervalMs: 200,
    });
  }
}
