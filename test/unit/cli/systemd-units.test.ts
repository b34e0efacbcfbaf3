/**
 * contrib/systemd: the units parse and their settings are known to this machine's systemd
 * (`systemd-analyze verify`), with ExecStart pointed at an executable that exists here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

const UNITS = resolve(import.meta.dirname, '../../../../contrib/systemd');
const VERIFY = '/usr/bin/systemd-analyze';

describe('systemd units', () => {
  it('agent: KillMode=process (PostgreSQL under its guard outlives a restart of the agent), a non-root user, hardening', () => {
    const unit = readFileSync(join(UNITS, 'pgwarden-agent@.service'), 'utf8');
    for (const line of ['KillMode=process', 'User=postgres', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'Restart=on-failure'])
      assert.match(unit, new RegExp(`^${line}$`, 'm'), line);
  });

  it('systemd-analyze verify finds nothing to say about them', { skip: !existsSync(VERIFY) && 'systemd-analyze is not installed' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgw-units-'));
    try {
      for (const file of readdirSync(UNITS).filter((f) => f.endsWith('.service'))) {
        const instance = join(dir, file.replace('@.service', '@test.service'));
        writeFileSync(instance, readFileSync(join(UNITS, file), 'utf8').replaceAll('/usr/local/bin/pgwarden', process.execPath));
        const out = spawnSync(VERIFY, ['verify', instance], { encoding: 'utf8' });
        const about = `${out.stdout}${out.stderr}`.split('\n').filter((l) => l.includes('pgwarden'));
        assert.deepEqual(about, [], `${file}: ${about.join('\n')}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
