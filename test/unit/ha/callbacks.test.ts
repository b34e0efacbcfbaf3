/**
 * Callbacks run real scripts: arguments in Patroni's order, one at a time in order, output to the
 * log, and every kind of failure (non-zero exit, timeout, missing script) reported, never thrown.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Callbacks } from '../../../src/ha/callbacks.js';
import { silentLogger } from '../../../src/util/log.js';

const dir = mkdtempSync(join(tmpdir(), 'pgw-callbacks-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function callbacks(scripts: Partial<Record<'on_start' | 'on_stop' | 'on_role_change', string>>, timeoutMs = 5000) {
  const failures: string[] = [];
  const cb = new Callbacks({ scripts, timeoutMs, scope: 'prod', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, log: silentLogger });
  cb.onFailure((m) => failures.push(m));
  return { cb, failures };
}

describe('callbacks', () => {
  it('runs each script with action, role and scope, one at a time in the order fired', async () => {
    const out = join(dir, 'calls');
    const rec = script('rec.sh', `sleep 0.05; echo "$1 $2 $3" >> ${out}`);
    const { cb, failures } = callbacks({ on_start: rec, on_role_change: rec, on_stop: rec });
    cb.fire('on_stop', 'primary');
    cb.fire('on_start', 'standby');
    cb.fire('on_role_change', 'standby');
    await cb.idle();
    assert.equal(readFileSync(out, 'utf8'), 'on_stop primary prod\non_start standby prod\non_role_change standby prod\n');
    assert.deepEqual(failures, []);
  });

  it('an action without a script does nothing', async () => {
    const { cb, failures } = callbacks({});
    cb.fire('on_start', 'primary');
    await cb.idle();
    assert.deepEqual(failures, []);
  });

  it('a failing script is reported with its exit status and last line', async () => {
    const { cb, failures } = callbacks({ on_role_change: script('fail.sh', 'echo "dns update refused" >&2; exit 3') });
    cb.fire('on_role_change', 'primary');
    await cb.idle();
    assert.equal(failures.length, 1);
    assert.match(failures[0]!, /on_role_change callback .*fail\.sh failed \(exit 3\): dns update refused/);
  });

  it('a script over its timeout is killed with what it started, and reported', async () => {
    const started = Date.now();
    const { cb, failures } = callbacks({ on_stop: script('hang.sh', 'sleep 30 & wait') }, 300);
    cb.fire('on_stop', 'primary');
    await cb.idle();
    assert.ok(Date.now() - started < 10_000, 'the timeout ended the run');
    assert.match(failures[0] ?? '', /killed after its timeout of 0\.3 s/);
  });

  it('a missing script is reported, and later callbacks still run', async () => {
    const out = join(dir, 'after-missing');
    const { cb, failures } = callbacks({ on_start: join(dir, 'nope.sh'), on_stop: script('ok.sh', `echo ok > ${out}`) });
    cb.fire('on_start', 'primary');
    cb.fire('on_stop', 'primary');
    await cb.idle();
    assert.match(failures[0] ?? '', /could not run: .*ENOENT/);
    assert.equal(readFileSync(out, 'utf8'), 'ok\n');
  });
});
