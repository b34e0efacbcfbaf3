/**
 * Finding and killing every process of an instance by its data directory and binary, with real
 * processes: a detached child in its own session (as PostgreSQL backends are, after setsid()).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureInstanceCgroup, instancePids, killInstance, removeInstanceCgroup, runsInstance } from '../../../src/postgres/instance-procs.js';
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

  it('a pid is taken for the instance only if it runs the binary in the data directory (postmaster.pid is not trusted)', async () => {
    const mine = sleeper(dir);
    const id = { dataDir: dir, binary: process.execPath };
    await waitFor('the child to run in the directory', () => instancePids(id).includes(mine.pid!), { timeoutMs: 5000, intervalMs: 20 });
    assert.equal(runsInstance(mine.pid!, id), true);
    assert.equal(runsInstance(process.pid, id), false, 'a process in another directory (this one) is not the instance');
    assert.equal(runsInstance(1, id), false, 'nor is init');
    assert.equal(runsInstance(mine.pid!, { dataDir: dir, binary: '/bin/sh' }), false, 'nor another binary in the same directory');
  });

  it('with a cgroup for the instance (root, cgroup2): a process forking all the time is killed with every child at once', async (t) => {
    const data = mkdtempSync(join(tmpdir(), 'pgw-procs-cg-'));
    const cg = ensureInstanceCgroup(data);
    if (cg === null) return t.skip('needs root and a writable cgroup2 mount');
    try {
      // A shell joins the cgroup, then forks sleepers as fast as it can, from another directory
      // (so only the cgroup can find them) and in new sessions.
      const forker = spawn('sh', ['-c', 'echo $$ > "$0"; cd /; while :; do setsid sleep 60 & done', join(cg, 'cgroup.procs')], { detached: true, stdio: 'ignore' });
      children.push(forker);
      const id = { dataDir: data, binary: '/nonexistent/postgres' };
      await waitFor('the forker to have children', () => instancePids(id).length > 20, { timeoutMs: 5000, intervalMs: 20 });
      assert.ok(killInstance(id) > 20);
      await waitFor('the cgroup to be empty', () => instancePids(id).length === 0, { timeoutMs: 5000, intervalMs: 20 });
    } finally {
      killInstance({ dataDir: data, binary: '/nonexistent/postgres' });
      await waitFor(
        'the cgroup to be removed',
        () => {
          removeInstanceCgroup(data);
          return !existsSync(cg);
        },
        { timeoutMs: 5000, intervalMs: 50 },
      ).catch(() => {});
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('a data directory that does not exist has no processes', () => {
    assert.deepEqual(instancePids({ dataDir: join(dir, 'missing'), binary: process.execPath }), []);
  });
});
