/**
 * Bad input at scale against a `pgwarden proxy` process: 10 000 connections opened and dropped
 * (silent, garbage, SSLRequest then gone, a startup packet cut short). Every one is closed, the
 * proxy keeps serving, and its memory stays bounded (within 25 % + 8 MB of the warmed-up
 * baseline: V8 keeps the heap it grew, so "back to baseline" is measured as "no per-connection leak").
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify as toYaml } from 'yaml';
import { waitFor } from '../../src/util/deadline.js';
import { MAIN } from '../support/cluster.js';
import { freePorts } from '../support/ports.js';

const rssKb = (pid: number) => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

function churnOne(port: number, kind: number): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const done = () => resolve();
    // Read (and drop) what the proxy answers: a socket whose data is never read never ends.
    s.resume();
    s.on('error', done);
    s.on('close', done);
    s.once('connect', () => {
      if (kind === 0) s.destroy();
      else if (kind === 1) s.end(Buffer.from('\x16\x03\x01\x02\x00garbage that is not PostgreSQL'));
      else if (kind === 2) s.end(Buffer.from([0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f]));
      else s.end(Buffer.from([0, 0, 0, 100, 0, 3, 0, 0, 0x75]));
    });
  });
}

describe('proxy under connection churn', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-churn-'));
  let child: ReturnType<typeof spawn> | null = null;
  after(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('10 000 bad connections: each closed, memory bounded', async () => {
    const [rw, ro, admin] = await freePorts(3);
    writeFileSync(join(dir, 'pw'), 'unused', { mode: 0o600 });
    writeFileSync(
      join(dir, 'proxy.yaml'),
      toYaml({
        store: { type: 'memory' },
        listen_rw: `127.0.0.1:${rw}`,
        listen_ro: `127.0.0.1:${ro}`,
        admin_listen: `127.0.0.1:${admin}`,
        failover_wait: 0,
        health_check: { password_file: join(dir, 'pw') },
      }),
    );
    child = spawn(process.execPath, [MAIN, 'proxy', '-c', join(dir, 'proxy.yaml')], { stdio: 'ignore' });
    await waitFor('the proxy to listen', async () => (await fetch(`http://127.0.0.1:${admin}/nodes`)).ok, { timeoutMs: 10_000, intervalMs: 100 });
    const pid = child.pid!;
    const churn = async (n: number) => {
      for (let i = 0; i < n; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => churnOne(j % 2 ? rw : ro, (i / 100 + j) % 4)));
    };
    await churn(1000);
    // The baseline is taken once the warm-up's memory settled: two readings 250 ms apart within 1 MB.
    let previous = rssKb(pid);
    const baseline = await waitFor(
      'the proxy RSS to settle after the warm-up',
      async () => {
        const now = rssKb(pid);
        const settled = Math.abs(now - previous) < 1024;
        previous = now;
        return settled ? now : false;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    const t0 = performance.now();
    await churn(10_000);
    const took = (performance.now() - t0) / 1000;
    const peak = rssKb(pid);
    await waitFor('RSS back near the baseline', () => rssKb(pid) <= baseline * 1.25 + 8 * 1024, { timeoutMs: 30_000, intervalMs: 500 }).catch((err) => {
      throw new Error(`${err.message}: baseline ${baseline} kB, now ${rssKb(pid)} kB`);
    });
    console.log(
      `# proxy churn: 10000 bad connections in ${took.toFixed(1)} s; RSS baseline ${Math.round(baseline / 1024)} MB, peak ${Math.round(peak / 1024)} MB, after ${Math.round(rssKb(pid) / 1024)} MB`,
    );
    assert.equal((await fetch(`http://127.0.0.1:${admin}/nodes`)).ok, true, 'the proxy still serves');
    assert.equal(child.exitCode, null, 'the proxy is still running');
  });
});
