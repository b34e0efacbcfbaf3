/**
 * The main job end to end: `pgwarden up --tls` as a process prints the table and connection
 * strings, the cluster answers (through the proxy with sslmode=verify-full against the throwaway
 * CA; plaintext refused), and SIGTERM stops every instance cleanly.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isAlive, readPostmasterPid } from '../../src/postgres/ctl.js';
import { waitFor } from '../../src/util/deadline.js';
import { killInstance, MAIN } from '../support/cluster.js';
import { freePortBase } from '../support/ports.js';

describe('pgwarden up (the command)', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-up-cli-'));
  const dataDirs = ['node1', 'node2'].map((n) => join(dir, 'nodes', n, 'data'));
  after(() => {
    for (const d of dataDirs) killInstance(d);
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the table and connection strings, serves the slots, and stops cleanly on SIGTERM', async () => {
    const portBase = await freePortBase(110);
    const child = spawn(process.execPath, [MAIN, 'up', '--dir', dir, '--nodes', '2', '--port-base', String(portBase), '--tls'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(
        'pgwarden up to print the table',
        () => {
          if (child.exitCode !== null) throw new Error(`pgwarden up exited with ${child.exitCode}`);
          return out.includes('Ctrl-C stops the cluster');
        },
        { timeoutMs: 120_000, intervalMs: 200 },
      ).catch((err) => {
        throw new Error(`${err.message}; it printed:\n${out}`);
      });
      assert.match(out, /\* running/);
      assert.match(out, new RegExp(`PGPASSFILE=${join(dir, '.pgpass')} psql 'host=127\\.0\\.0\\.1 port=${portBase + 1} user=postgres dbname=postgres'`));
      assert.ok(existsSync(join(dir, 'pgwarden.yaml')));
      // The proxy line as printed, run as printed: TLS verified against the throwaway CA.
      const line = new RegExp(`PGPASSFILE=(\\S+) psql '(host=127\\.0\\.0\\.1 port=${portBase + 51} user=postgres dbname=postgres sslmode=verify-full sslrootcert=\\S+)'`).exec(out);
      assert.ok(line, `the proxy's connection string with sslmode=verify-full:\n${out}`);
      const psql = (conninfo: string, sql = 'SELECT 42') => promisify(execFile)('psql', [conninfo, '-Atc', sql], { env: { ...process.env, PGPASSFILE: line[1] } });
      assert.equal((await psql(line[2]!)).stdout.trim(), '42');
      // And from the proxy to PostgreSQL (backend_tls verify-full against the same CA).
      assert.equal((await psql(line[2]!, 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).stdout.trim(), 't', 'the proxy reaches PostgreSQL over TLS');
      await assert.rejects(psql(`host=127.0.0.1 port=${portBase + 51} user=postgres dbname=postgres sslmode=disable`), /TLS is required here/);
      const pids = dataDirs.map((d) => readPostmasterPid(d)!);
      assert.ok(pids.every((p) => p !== null && isAlive(p)));
      const secret = readFileSync(join(dir, 'secrets', 'superuser'), 'utf8').trim();
      assert.ok(!out.includes(secret), 'the output never shows a password');
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      for (const p of pids) assert.equal(isAlive(p), false, `postmaster ${p} stopped`);
      for (const d of dataDirs) assert.equal(existsSync(join(d, 'postmaster.pid')), false, 'clean shutdown removes postmaster.pid');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
