/**
 * Issue 15's configuration rules: what `check-config` and the agent refuse, each naming its key.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseNodeConfig, readSecret, readToken } from '../../../src/config/index.js';
import { configErrorOf, validNode } from './fixtures.js';

const valid = validNode;
const keyOf = (raw: unknown): string => configErrorOf(() => parseNodeConfig(raw, '/etc/pgwarden')).path.join('.');

const dir = mkdtempSync(join(tmpdir(), 'pgw-secrets-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, value: string, mode = 0o600) => {
  const f = join(dir, name);
  writeFileSync(f, value);
  chmodSync(f, mode);
  return f;
};
const refusal = configErrorOf;

describe('API access in the node config', () => {
  it('an inline token is refused and the error says where a token goes', () => {
    const raw = valid();
    raw.api = { listen: '127.0.0.1:8008', connect_address: '127.0.0.1:8008', auth_token: 'a'.repeat(40) };
    assert.equal(keyOf(raw), 'api.auth_token');
  });

  it('an API beyond loopback needs a token file; on loopback it may go without', () => {
    const raw = valid();
    raw.api = { listen: '0.0.0.0:8008', connect_address: '10.0.0.1:8008' };
    assert.equal(keyOf(raw), 'api.auth_token_file');
    raw.api = { listen: '127.0.0.1:8008', connect_address: '127.0.0.1:8008' };
    assert.equal(parseNodeConfig(raw).api.auth_token_file, undefined);
  });

  it('api.allowlist takes addresses and CIDRs; a bad entry is named by its index', () => {
    const raw = valid();
    raw.api = { ...raw.api, allowlist: ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32'] };
    assert.deepEqual(parseNodeConfig(raw).api.allowlist, ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32']);
    raw.api = { ...raw.api, allowlist: ['10.0.0.0/8', '10.0.0.0/33'] };
    assert.equal(keyOf(raw), 'api.allowlist.1');
    raw.api = { ...raw.api, allowlist: ['example.com'] };
    assert.equal(keyOf(raw), 'api.allowlist.0');
  });
});

describe('api.tls', () => {
  it('paths resolve against the config; verify_client needs ca_file', () => {
    const raw = valid();
    raw.api = { ...raw.api, tls: { cert_file: 'api.pem', key_file: 'api.key', ca_file: 'ca.pem', verify_client: true } };
    assert.deepEqual(parseNodeConfig(raw, '/etc/pgwarden').api.tls, {
      cert_file: '/etc/pgwarden/api.pem',
      key_file: '/etc/pgwarden/api.key',
      ca_file: '/etc/pgwarden/ca.pem',
      verify_client: true,
    });
    raw.api = { ...raw.api, tls: { cert_file: 'api.pem', key_file: 'api.key', verify_client: true } };
    assert.equal(keyOf(raw), 'api.tls.verify_client');
  });
});

describe('PostgreSQL parameters', () => {
  const withParams = (parameters: Record<string, unknown>) => ({ ...valid(), postgresql: { ...valid().postgresql, parameters } });
  it('names and extension.names pass; a newline in a key or a value is refused', () => {
    assert.deepEqual(parseNodeConfig(withParams({ work_mem: '8MB', 'auto_explain.log_min_duration': 250 })).postgresql.parameters, {
      work_mem: '8MB',
      'auto_explain.log_min_duration': 250,
    });
    assert.match(keyOf(withParams({ "work_mem = '1MB'\nshared_preload_libraries": 'x' })), /^postgresql\.parameters/);
    assert.match(keyOf(withParams({ 'a b': 1 })), /^postgresql\.parameters/);
    assert.equal(keyOf(withParams({ application_name: "x'\narchive_command = 'rm -rf /" })), 'postgresql.parameters.application_name');
  });
});

describe('etcd store settings', () => {
  const withStore = (store: Record<string, unknown>) => ({ ...valid(), store: { type: 'etcd', endpoints: ['https://10.0.0.9:2379'], ...store } });
  it('TLS and authentication: the files resolve against the config; contradictions name their key', () => {
    const cfg = parseNodeConfig(withStore({ ca_file: 'ca.pem', cert_file: 'c.pem', key_file: 'c.key', username: 'pgw', password_file: 'etcd.pw' }), '/etc/pgwarden');
    assert.deepEqual(cfg.store.type === 'etcd' && [cfg.store.ca_file, cfg.store.cert_file, cfg.store.key_file, cfg.store.password_file], [
      '/etc/pgwarden/ca.pem',
      '/etc/pgwarden/c.pem',
      '/etc/pgwarden/c.key',
      '/etc/pgwarden/etcd.pw',
    ]);
    assert.equal(keyOf(withStore({ password_file: 'etcd.pw' })), 'store.username');
    assert.equal(keyOf(withStore({ username: 'pgw' })), 'store.password_file');
    assert.equal(keyOf(withStore({ cert_file: 'c.pem' })), 'store.cert_file');
    assert.equal(keyOf({ ...valid(), store: { type: 'etcd', endpoints: ['http://10.0.0.9:2379'], ca_file: 'ca.pem' } }), 'store.endpoints');
  });
});

describe('secret files', () => {
  it('a file group or others may read is refused with its mode; a private one is read', () => {
    assert.equal(readSecret({ password_file: file('ok.pw', 'hunter2\n') }, ['postgresql', 'superuser']), 'hunter2');
    const err = refusal(() => readSecret({ password_file: file('open.pw', 'hunter2', 0o644) }, ['postgresql', 'superuser']));
    assert.equal(err.path.join('.'), 'postgresql.superuser.password_file');
    assert.match(err.message, /mode 0644: group or others may use it; chmod 600/);
    assert.doesNotMatch(err.message, /hunter2/);
  });

  it('a missing file and an empty one name the key', () => {
    assert.match(refusal(() => readSecret({ password_file: join(dir, 'none') }, ['store'])).message, /^store\.password_file: cannot read the secret/);
    assert.match(refusal(() => readSecret({ password_file: file('empty.pw', '') }, ['store'])).message, /is empty/);
  });

  it('a file owned by another user is refused for the agent, accepted for a CLI reading a token', { skip: process.geteuid?.() !== 0 && 'needs root to chown' }, () => {
    const f = file('theirs.token', 'x'.repeat(40));
    chownSync(f, 1, 1);
    assert.match(refusal(() => readToken({ auth_token_file: f }, ['api', 'auth_token_file'])).message, /owned by uid 1, not by the user pgwarden runs as/);
    assert.equal(readToken({ auth_token_file: f }, ['auth_token_file'], false), 'x'.repeat(40));
  });

  it('a token shorter than 32 bytes is refused', () => {
    const err = refusal(() => readToken({ auth_token_file: file('short.token', 'a'.repeat(31)) }, ['api', 'auth_token_file']));
    assert.equal(err.path.join('.'), 'api.auth_token_file');
    assert.match(err.message, /31 bytes: at least 32 are required/);
    assert.equal(readToken({ auth_token_file: file('long.token', 'a'.repeat(32)) }, ['api', 'auth_token_file']), 'a'.repeat(32));
  });
});

describe('pgwarden check-config reads the secrets as the agent would', () => {
  const main = join(import.meta.dirname, '../../../src/main.js');
  const run = (cfg: string) =>
    new Promise<{ code: number; stderr: string; stdout: string }>((resolve) => {
      execFile(process.execPath, [main, 'check-config', '-c', cfg], (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }));
    });
  const nodeFile = (token: string, tokenMode: number) => {
    const cfg = validNode();
    cfg.postgresql.replication.password_file = file('cc-repl.pw', 'secret');
    cfg.api = { ...cfg.api, auth_token_file: file('cc.token', token, tokenMode) };
    const f = join(dir, 'cc.yaml');
    writeFileSync(f, JSON.stringify({ ...cfg, postgresql: { ...cfg.postgresql, superuser: { username: 'postgres', password_file: file('cc-su.pw', 'x') } } }));
    return f;
  };

  it('a sound file: exit 0, with a warning when postgresql.tls is missing', async () => {
    const r = await run(nodeFile('t'.repeat(32), 0o600));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: postgresql\.tls is not set/);
  });

  it('a token file others may read, or a short token: exit 2 naming api.auth_token_file', async () => {
    const open = await run(nodeFile('t'.repeat(32), 0o644));
    assert.equal(open.code, 2);
    assert.match(open.stderr, /config error: api\.auth_token_file: .* has mode 0644/);
    const short = await run(nodeFile('t'.repeat(8), 0o600));
    assert.equal(short.code, 2);
    assert.match(short.stderr, /config error: api\.auth_token_file: the token in .* is 8 bytes: at least 32/);
  });
});
