import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseProgress } from '../../../src/postgres/clone.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conninfo, readSyncStandbyNames, renderPgHba, renderPgpass, renderPostgresqlConf } from '../../../src/postgres/conf.js';
import { scramVerifier } from '../../../src/postgres/scram.js';

const base = { clusterName: 'c1', listenHost: '127.0.0.1', port: 5433, parameters: {}, standby: null, tls: null };
const tls = { cert: '/run/pgw/tls/server.pem', key: '/run/pgw/tls/server.key', ca: '/run/pgw/tls/ca.pem', caPem: Buffer.from('') };

describe('files pgwarden writes for PostgreSQL', () => {
  it('managed settings win over user parameters (a user cannot turn off what HA depends on)', () => {
    const conf = renderPostgresqlConf({ ...base, parameters: { wal_level: 'minimal', port: 1, work_mem: '8MB' } });
    assert.match(conf, /^wal_level = 'replica'$/m);
    assert.match(conf, /^port = 5433$/m);
    assert.match(conf, /^work_mem = '8MB'$/m);
    assert.match(conf, /^wal_log_hints = 'on'$/m);
    assert.match(conf, /^primary_conninfo = ''$/m);
  });

  it('a standby gets its upstream, slot and a passfile, never a password', () => {
    const conf = renderPostgresqlConf({
      ...base,
      standby: { upstream: { name: 'n1', host: '10.0.0.1', port: 5432 }, slot: 'n2', replicationUser: 'repl', passfile: '/run/pgw/pgpass', appName: 'n2' },
    });
    assert.match(conf, /^primary_conninfo = 'host=10\.0\.0\.1 port=5432 user=repl passfile=\/run\/pgw\/pgpass application_name=n2 /m);
    assert.match(conf, /^primary_slot_name = 'n2'$/m);
    assert.doesNotMatch(conf, /password=/);
    assert.doesNotMatch(conf, /^ssl = /m);
  });

  it('with postgresql.tls: the server serves TLS and the replication connection requires verify-full and channel binding', () => {
    const conf = renderPostgresqlConf({
      ...base,
      tls,
      standby: { upstream: { name: 'n1', host: '10.0.0.1', port: 5432 }, slot: 'n2', replicationUser: 'repl', passfile: '/run/pgw/pgpass', appName: 'n2' },
    });
    assert.match(conf, /^primary_conninfo = '.* sslmode=verify-full sslrootcert=\/run\/pgw\/tls\/ca\.pem channel_binding=require'$/m);
    assert.match(conf, /^ssl = 'on'$/m);
    assert.match(conf, /^ssl_key_file = '\/run\/pgw\/tls\/server\.key'$/m);
    assert.match(conf, /^ssl_ca_file = '\/run\/pgw\/tls\/ca\.pem'$/m);
    const hba = renderPgHba([], 'postgres', 'repl', true).split('\n').slice(1).filter(Boolean);
    assert.ok(hba.length > 0 && hba.every((l) => l.startsWith('hostssl ')), hba.join('\n'));
  });

  it('quotes values with quotes and backslashes', () => {
    const conf = renderPostgresqlConf({ ...base, parameters: { application_name: "it's \\ here" } });
    assert.match(conf, /^application_name = 'it''s \\\\ here'$/m);
    assert.equal(conninfo({ host: 'h', application_name: "a b'c" }), "host=h application_name='a b\\'c'");
  });

  it('pg_hba puts operator lines first and requires scram-sha-256 everywhere else', () => {
    const hba = renderPgHba(['host all all 10.0.0.0/8 trust'], 'postgres', 'repl').split('\n');
    assert.equal(hba[1], 'host all all 10.0.0.0/8 trust');
    assert.ok(
      hba
        .slice(2)
        .filter(Boolean)
        .every((l) => l.endsWith('scram-sha-256')),
    );
  });

  it('synchronous_standby_names is read back as written (a fresh agent keeps it for a restarted primary)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgw-conf-'));
    try {
      assert.equal(readSyncStandbyNames(dir), '', 'no postgresql.conf yet');
      for (const value of ['', 'FIRST 1 ("n2")', 'ANY 2 ("n2", "it\'s")']) {
        writeFileSync(join(dir, 'postgresql.conf'), renderPostgresqlConf({ ...base, syncStandbyNames: value }));
        assert.equal(readSyncStandbyNames(dir), value);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pgpass names each member host and port, never *, and escapes : and \\', () => {
    assert.equal(
      renderPgpass(
        [
          { host: '10.0.0.1', port: 5432 },
          { host: '::1', port: 5433 },
        ],
        [{ user: 'u', password: 'a:b\\c' }],
      ),
      '10.0.0.1:5432:*:u:a\\:b\\\\c\n\\:\\:1:5433:*:u:a\\:b\\\\c\n',
    );
    assert.equal(renderPgpass([], [{ user: 'u', password: 'p' }]), '');
  });

  it('reads pg_basebackup progress lines', () => {
    assert.deepEqual(parseProgress('  30712/30712 kB (100%), 1/1 tablespace'), { doneKb: 30712, totalKb: 30712 });
    assert.equal(parseProgress('waiting for checkpoint'), null);
  });

  it("SCRAM verifiers have PostgreSQL's stored format and a fresh salt each time", () => {
    const v = scramVerifier('secret');
    assert.match(v, /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/);
    assert.notEqual(v, scramVerifier('secret'));
  });
});
