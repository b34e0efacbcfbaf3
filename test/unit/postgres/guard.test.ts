/**
 * The lease guard as a real process, without PostgreSQL: the "instance" is a `sleep` run from the
 * data directory through a `postgres` link to it (the guard finds processes by binary and working
 * directory). A regular file stands in for the watchdog device, to read what the guard wrote.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GuardLink } from '../../../src/postgres/guard-link.js';
import type { GuardFence, GuardSpec } from '../../../src/postgres/guard-protocol.js';
import { isAlive } from '../../../src/postgres/ctl.js';
import { monotonicMs } from '../../../src/util/clock.js';
import { waitFor } from '../../../src/util/deadline.js';
import { silentLogger } from '../../../src/util/log.js';

describe('lease guard process', () => {
  let dir: string;
  let spec: GuardSpec;
  let link: GuardLink;
  const fences: GuardFence[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pgw-guard-'));
    mkdirSync(join(dir, 'bin'));
    mkdirSync(join(dir, 'data'));
    symlinkSync('/usr/bin/sleep', join(dir, 'bin', 'postgres'));
    writeFileSync(join(dir, 'watchdog'), '');
    spec = {
      dataDir: join(dir, 'data'),
      binDir: join(dir, 'bin'),
      pgLog: join(dir, 'pg.log'),
      socket: join(dir, 'guard.sock'),
      guardLog: join(dir, 'guard.log'),
      uid: null,
      gid: null,
      home: dir,
      watchdog: join(dir, 'watchdog'),
      vip: null,
    };
    link = new GuardLink(spec, silentLogger);
    link.on('fenced', (f) => fences.push(f));
    await link.attach();
  });

  after(() => {
    link.detach();
    rmSync(dir, { recursive: true, force: true });
  });

  const watchdogBytes = () => readFileSync(join(dir, 'watchdog'), 'utf8');
  const guardPid = () => Number(/guard (\d+) listening/.exec(readFileSync(spec.guardLog, 'utf8'))?.[1]);

  it('is small: its memory is printed for the record (its own, and the node executable it shares)', () => {
    const rollup = readFileSync(`/proc/${guardPid()}/smaps_rollup`, 'utf8');
    const mb = (field: string) => Math.round(Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1]) / 102.4) / 10;
    console.log(`# lease guard: RSS ${mb('Rss')} MB, PSS ${mb('Pss')} MB, private dirty (its own heap and stacks) ${mb('Private_Dirty')} MB`);
    assert.ok(mb('Private_Dirty') > 0);
  });

  it('a lease that runs out kills every process of the instance and reports the fence; the watchdog was fed, then stopped', async () => {
    const victim = spawn(join(dir, 'bin', 'postgres'), ['600'], { cwd: spec.dataDir, stdio: 'ignore' });
    const exited = new Promise((r) => victim.once('exit', r));
    await waitFor('the stand-in instance to run', () => victim.pid !== undefined && isAlive(victim.pid), { timeoutMs: 2000 });
    link.lease(monotonicMs() + 300);
    link.lease(monotonicMs() + 400);
    await waitFor('the guard to report a fence', () => fences.length === 1, { timeoutMs: 5000, intervalMs: 20 });
    await exited;
    assert.equal(fences[0]?.killed, 1);
    assert.match(watchdogBytes(), /^11V$/, 'fed at each renewal, closed with the magic V after the kill');
  });

  it('a renewed lease is not enforced: nothing is killed while renewals come', async () => {
    const victim = spawn(join(dir, 'bin', 'postgres'), ['600'], { cwd: spec.dataDir, stdio: 'ignore' });
    try {
      const end = monotonicMs() + 1000;
      while (monotonicMs() < end) {
        link.lease(monotonicMs() + 200);
        await new Promise((r) => setTimeout(r, 50));
      }
      link.disarm();
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(victim.pid !== undefined && isAlive(victim.pid), 'still running');
      assert.equal(fences.length, 1, 'no new fence');
      assert.match(watchdogBytes(), /V$/, 'disarming stops the watchdog');
    } finally {
      victim.kill('SIGKILL');
    }
  });

  it('garbage on its socket closes that connection only; the guard answers the next one', async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const s = createConnection(spec.socket);
      s.on('data', () => s.write('{"op":"lease","untilMs":"soon"}\n'));
      s.on('close', () => resolve(true));
      s.on('error', () => {});
    });
    assert.ok(closed);
    const other = new GuardLink(spec, silentLogger);
    await other.attach();
    other.detach();
    assert.ok(isAlive(guardPid()), 'the guard still runs');
  });
});
