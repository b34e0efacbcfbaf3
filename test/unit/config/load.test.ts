import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadTlsContext, parseNodeConfig } from '../../../src/config/index.js';
import type { ConfigError } from '../../../src/util/errors.js';
import { configErrorOf, validNode } from './fixtures.js';

const valid = validNode;
const configError = (raw: unknown): ConfigError => configErrorOf(() => parseNodeConfig(raw, '/etc/pgwarden'));

describe('node config', () => {
  it('accepts a minimal config and fills the documented defaults', () => {
    const cfg = parseNodeConfig(valid(), '/etc/pgwarden');
    assert.equal(cfg.loop_wait, 1);
    assert.equal(cfg.ttl, 10);
    assert.equal(cfg.retry_timeout, 3);
    assert.equal(cfg.primary_start_timeout, 10);
    assert.equal(cfg.maximum_lag_on_failover, 1048576);
    assert.deepEqual(cfg.tags, { priority: 100, location: 'default', nofailover: false, noloadbalance: false, nosync: false, clonefrom: false });
    assert.equal(cfg.postgresql.replication.password_file, '/etc/pgwarden/repl.pw', 'relative paths resolve against the file');
  });

  it('names the key path of a wrong value', () => {
    const raw = valid();
    raw.postgresql.listen = 'localhost';
    const err = configError(raw);
    assert.deepEqual(err.path, ['postgresql', 'listen']);
    assert.match(err.message, /^postgresql\.listen: expected host:port/);
  });

  it('a floating address: checks the address, prefix and interface, and names the key', () => {
    assert.deepEqual(parseNodeConfig({ ...valid(), vip: { address: '192.0.2.10', interface: 'eth0' } }).vip, { address: '192.0.2.10', prefix: 32, interface: 'eth0' });
    assert.deepEqual(configError({ ...valid(), vip: { address: '192.0.2.300', interface: 'eth0' } }).path, ['vip', 'address']);
    assert.deepEqual(configError({ ...valid(), vip: { address: '192.0.2.10', prefix: 33, interface: 'eth0' } }).path, ['vip', 'prefix']);
    assert.deepEqual(configError({ ...valid(), vip: { address: '192.0.2.10', interface: 'eth0; reboot' } }).path, ['vip', 'interface']);
  });

  it('initdb options: long options passed on; one pgwarden sets itself or a short one is refused with the key', () => {
    const withInitdb = (initdb: string[]) => ({ ...valid(), postgresql: { ...valid().postgresql, initdb } });
    assert.deepEqual(parseNodeConfig(withInitdb(['--data-checksums', '--wal-segsize=1'])).postgresql.initdb, ['--data-checksums', '--wal-segsize=1']);
    assert.deepEqual(parseNodeConfig(valid()).postgresql.initdb, []);
    for (const bad of ['--pwfile=/tmp/x', '--auth=trust', '-A', '--username=root']) {
      const err = configError(withInitdb([bad]));
      assert.deepEqual(err.path, ['postgresql', 'initdb', 0], bad);
    }
    assert.match(configError(withInitdb(['--auth-local=trust'])).message, /sets this initdb option itself/);
  });

  it('callbacks: scripts resolved against the config directory, a timeout that defaults to 30 s', () => {
    const cfg = parseNodeConfig({ ...valid(), callbacks: { on_role_change: 'hooks/role.sh' } }, '/etc/pgwarden');
    assert.deepEqual(cfg.callbacks, { on_role_change: '/etc/pgwarden/hooks/role.sh', timeout: 30 });
    assert.deepEqual(configError({ ...valid(), callbacks: { on_promote: 'x.sh' } }).path, ['callbacks']);
  });

  it('names an unknown key (a typo)', () => {
    const err = configError({ ...valid(), loop_wiat: 2 });
    assert.match(err.message, /unknown key "loop_wiat"/);
  });

  it('names a missing required key', () => {
    const { data_dir: _drop, ...raw } = valid();
    assert.deepEqual(configError(raw).path, ['data_dir']);
  });

  it('refuses an inline password: credentials come from a file or the environment', () => {
    const base = valid();
    const raw = { ...base, postgresql: { ...base.postgresql, superuser: { username: 'postgres', password: 'hunter2' } } };
    const err = configError(raw);
    assert.deepEqual(err.path.slice(0, 2), ['postgresql', 'superuser']);
    assert.doesNotMatch(err.message, /hunter2/, 'the error never echoes a secret');
  });

  it('refuses contradictory timings: ttl too small for loop_wait and retry_timeout', () => {
    const err = configError({ ...valid(), ttl: 10, loop_wait: 5, retry_timeout: 3 });
    assert.deepEqual(err.path, ['ttl']);
    assert.match(err.message, /loop_wait \+ 2 × retry_timeout must not exceed ttl: 5 \+ 2 × 3 = 11 > 10/);
  });

  it('refuses a primary_hang_timeout shorter than retry_timeout: one slow probe is no hang', () => {
    const err = configError({ ...valid(), retry_timeout: 3, primary_hang_timeout: 2 });
    assert.deepEqual(err.path, ['primary_hang_timeout']);
    assert.match(err.message, /must be at least retry_timeout/);
  });

  it('refuses an etcd store without endpoints', () => {
    assert.deepEqual(configError({ ...valid(), store: { type: 'etcd', endpoints: [] } }).path, ['store', 'endpoints']);
  });
});

describe('proxy TLS files', () => {
  it('a missing certificate names tls.cert_file; a file that is not a key names tls', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgw-tls-'));
    try {
      assert.throws(
        () => loadTlsContext({ cert_file: join(dir, 'none.pem'), key_file: join(dir, 'none.key') }, ['tls']),
        (err: ConfigError) => err.path.join('.') === 'tls.cert_file' && /cannot read/.test(err.message),
      );
      writeFileSync(join(dir, 'bad.pem'), 'not a certificate', { mode: 0o600 });
      assert.throws(
        () => loadTlsContext({ cert_file: join(dir, 'bad.pem'), key_file: join(dir, 'bad.pem') }, ['tls']),
        (err: ConfigError) => err.path.join('.') === 'tls' && /not usable/.test(err.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a private key others may read is refused, naming tls.key_file and its mode', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgw-tls-'));
    try {
      writeFileSync(join(dir, 'cert.pem'), 'x');
      writeFileSync(join(dir, 'key.pem'), 'x');
      chmodSync(join(dir, 'key.pem'), 0o644);
      assert.throws(
        () => loadTlsContext({ cert_file: join(dir, 'cert.pem'), key_file: join(dir, 'key.pem') }, ['tls']),
        (err: ConfigError) => err.path.join('.') === 'tls.key_file' && /mode 0644: group or others may read the private key; chmod 600/.test(err.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
