/**
 * The store contract again, on an etcd as issue 15 hardens it: https only, client certificates
 * required (--client-cert-auth), authentication on, and pgwarden's user limited by its role to the
 * cluster's own key prefix. Then what an agent without the certificate, with a wrong password or
 * outside its prefix gets: a refusal, named.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { storeFor } from '../../src/compose/store.js';
import { throwawayCa, type ThrowawayCa } from '../../src/local/throwaway-ca.js';
import { EtcdStore } from '../../src/store/etcd.js';
import { StoreUnavailableError } from '../../src/util/errors.js';
import { startEtcd, type TestEtcd } from '../support/etcd.js';
import { etcdHarness } from './etcd-harness.js';
import { describeStateStore } from './store.contract.js';

const USER = 'pgwarden';
const PASSWORD = 'etcd-user-password';

/** etcd with TLS and client-cert auth; root and a user whose role reads and writes only `/scope/`. */
async function securedEtcd(scope: string): Promise<{ etcd: TestEtcd; ca: ThrowawayCa; root: Etcd3; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-etcd-tls-'));
  const ca = await throwawayCa(join(dir, 'ca'), 'root');
  const etcd = await startEtcd({ tls: ca });
  const credentials = { rootCertificate: readFileSync(ca.caFile), certChain: readFileSync(ca.clientCert), privateKey: readFileSync(ca.clientKey) };
  const setup = new Etcd3({ hosts: etcd.endpoint, credentials });
  await setup.user('root').create('root-password');
  await setup.user('root').addRole('root');
  const role = await setup.role(`${USER}-role`).create();
  await role.grant({ permission: 'Readwrite', range: setup.range({ prefix: `/${scope}/` }) });
  await setup.user(USER).create(PASSWORD);
  await setup.user(USER).addRole(role);
  await setup.auth.authEnable();
  setup.close();
  const root = new Etcd3({ hosts: etcd.endpoint, credentials, auth: { username: 'root', password: 'root-password' } });
  return { etcd, ca, root, dir };
}

const tlsOf = (ca: ThrowawayCa, withCert = true) => ({
  ca: readFileSync(ca.caFile),
  ...(withCert ? { cert: readFileSync(ca.clientCert), key: readFileSync(ca.clientKey) } : {}),
});

describeStateStore('etcd with TLS, client certificates and a user limited to its prefix', async () => {
  const scope = `secured-${process.pid}`;
  const { etcd, ca, root, dir } = await securedEtcd(scope);
  const make = () => new EtcdStore({ endpoints: [etcd.endpoint], scope, ttlSeconds: 2, callTimeoutMs: 1000, auth: { username: USER, password: PASSWORD }, tls: tlsOf(ca) });
  return etcdHarness({ etcd, scope, make, raw: root, cleanup: () => rmSync(dir, { recursive: true, force: true }) });
});

describe('an agent that etcd must refuse', { timeout: 60_000 }, () => {
  const scope = `refused-${process.pid}`;
  let s: Awaited<ReturnType<typeof securedEtcd>>;
  const stores: EtcdStore[] = [];
  const store = (o: Partial<ConstructorParameters<typeof EtcdStore>[0]>) => {
    const st = new EtcdStore({ endpoints: [s.etcd.endpoint], scope, ttlSeconds: 2, callTimeoutMs: 2000, auth: { username: USER, password: PASSWORD }, tls: tlsOf(s.ca), ...o });
    stores.push(st);
    return st;
  };
  const refusal = async (st: EtcdStore): Promise<string> => {
    const err = await st.load(AbortSignal.timeout(3000)).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof StoreUnavailableError, `expected a refusal, got ${String(err)}`);
    return err.message;
  };
  before(async () => {
    s = await securedEtcd(scope);
  });
  after(async () => {
    for (const st of stores) await st.close().catch(() => undefined);
    s?.root.close();
    await s?.etcd.stop();
    if (s) rmSync(s.dir, { recursive: true, force: true });
  });

  it('with its certificate, user and password it reads its cluster', async () => {
    const snap = await store({}).load(AbortSignal.timeout(3000));
    assert.equal(snap.leader, null);
  });

  it('without the client certificate: refused, and the error says so', async () => {
    assert.match(await refusal(store({ tls: tlsOf(s.ca, false) })), /requires a client certificate it trusts; check store\.cert_file and store\.key_file/);
  });

  it('with a wrong password: refused, and the error says authentication failed', async () => {
    assert.match(await refusal(store({ auth: { username: USER, password: 'wrong' } })), /authentication failed.*check store\.username and its password/);
  });

  it('the same user outside its prefix (another scope): permission denied', async () => {
    assert.match(await refusal(store({ scope: 'another-cluster' })), /permission denied.*must grant readwrite on the prefix \/another-cluster\//);
  });

  it('a node config names the files: storeFor reads them and connects', async () => {
    const pw = join(s.dir, 'etcd.pw');
    writeFileSync(pw, PASSWORD, { mode: 0o600 });
    const st = await storeFor(
      {
        type: 'etcd',
        endpoints: [s.etcd.endpoint],
        ca_file: s.ca.caFile,
        cert_file: s.ca.clientCert,
        key_file: s.ca.clientKey,
        username: USER,
        password_file: pw,
      },
      scope,
      { ttlSeconds: 2, callTimeoutMs: 2000 },
    );
    stores.push(st as EtcdStore);
    assert.equal((await st.load(AbortSignal.timeout(3000))).leader, null);
  });
});
