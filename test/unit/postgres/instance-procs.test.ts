/**
 * Finding and killing every process of an instance by its data directory and binary, with real
 * processes: a detached child in its own session (as PostgreSQL backends are, after setsid()).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { instancePids, killInstance } from '../../../src/postgres/instance-procs.js';
import { waitFor } from '../../../src/util/deadline.js';

describe('instance processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-procs-'));
  const other = mkdtempSync(join(tmpdir(), 'pgw-procs-other-'));
  const children: ReturnType<typeof spawn>[] = [];
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  });
  const sleeper = (cwd: string) => {
    const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { cwd, detached: true, stdio: 'ignore' });
    children.push(c);
    return c;
  };

  it('finds the processes running the binary in the data directory, in other sessions too, and kills them all', async () => {
    const mine = [sleeper(dir), sleeper(dir)];
    const stranger = sleeper(other);
    const id = { dataDir: dir, binary: process.execPath };
    const pids = await waitFor('both children to run in the directory', () => (instancePids(id).length === 2 ? instancePids(id) : false), { timeoutMs: 5000, intervalMs: 20 });
    assert.deepEqual([...pids].sort(), mine.map((c) => c.pid).sort());
    assert.equal(instancePids({ dataDir: dir, binary: '/bin/sh' }).length, 0, 'another binary in the same directory is not the instance');
    const exits = mine.map((c) => new Promise((r) => c.once('exit', r)));
    assert.equal(killInstance(id), 2);
    await Promise.all(exits);
    assert.deepEqual(instancePids(id), []);
    assert.equal(stranger.exitCode, null, 'a process elsewhere is untouched');
  });

  it('a data directory that does not exist has no processes', () => {
    assert.deepEqual(instancePids({ dataDir: join(dir, 'missing'), binary: process.execPath }), []);
  });
});
