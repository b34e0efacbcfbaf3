/**
 * Hostile clients against a `pgwarden proxy` process in front of real PostgreSQL (agents on etcd):
 * - clients that never finish their login (silent, half a startup packet, a stalled TLS handshake,
 *   a startup packet and then no password) are closed after client_login_timeout;
 * - 5,000 connections held open: max_client_conn of them get a session, the others PostgreSQL's
 *   "too many clients" error; the proxy's memory stays bounded and the superuser can still log in
 *   directly;
 * - absurd message lengths and garbage: an error, the socket destroyed, and the proxy's file
 *   descriptors back to where they were;
 * - a 300 MB message passes through, relayed as it comes (the proxy's memory does not grow with it);
 * - TLS: `tls.mode: require` refuses a plaintext startup, client certificates are verified against
 *   the configured CA, old protocol versions and ciphers without forward secrecy are refused, and
 *   the proxy ends a TLS session with close_notify.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { stringify as toYaml } from 'yaml';
import { throwawayCa, type ThrowawayCa } from '../../src/local/throwaway-ca.js';
import { waitFor } from '../../src/util/deadline.js';
import { etcdCluster, MAIN, type ClusterHarness } from '../support/cluster.js';
import { freePorts } from '../support/ports.js';

const LOGIN_TIMEOUT_S = 2;
const MAX_CLIENT_CONN = 20;

const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

function startupPacket(user: string): Buffer {
  const params = Buffer.from(`user\0${user}\0database\0postgres\0\0`);
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + params.length);
  head.writeInt32BE(196608, 4);
  return Buffer.concat([head, params]);
}

/** A raw client: what it received, and when the proxy closed it (ms after `connect`), or null. */
function rawClient(port: number, send: (s: Socket) => void, waitMs: number): Promise<{ got: Buffer; closedAfterMs: number | null }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let got = Buffer.alloc(0);
    const s = connect(port, '127.0.0.1', () => send(s));
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ got, closedAfterMs: null });
    }, waitMs);
    s.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ got, closedAfterMs: performance.now() - t0 });
    });
  });
}

describe('the proxy against hostile clients', { timeout: 300_000 }, () => {
  let c: ClusterHarness;
  let proxy: ChildProcess;
  /** A second proxy with a long client_login_timeout: nothing frees its slots during the flood. */
  let patient: ChildProcess;
  let rw: number;
  let patientPort: number;
  let tlsPort: number;
  /** tls.mode require, client certificates verified against a CA. */
  let strictPort: number;
  let ca: ThrowawayCa;
  const dir = mkdtempSync(join(tmpdir(), 'pgw-hostile-'));
  const proxies: ChildProcess[] = [];
  const startProxy = (file: string) => {
    const child = spawn(process.execPath, [MAIN, 'proxy', '-c', join(dir, file)], { stdio: 'ignore' });
    proxies.push(child);
    return child;
  };
  const client = async (port: number) => {
    const cl = new pg.Client({ host: '127.0.0.1', port, user: c.cred.user, password: c.cred.password, database: 'postgres', connectionTimeoutMillis: 10_000 });
    cl.on('error', () => {});
    await cl.connect();
    return cl;
  };
  const primaryPort = async () => {
    const r = await c.waitStable(60_000);
    return c.endpoints.find((e) => e.name === r.leader)!.port;
  };

  before(async () => {
    c = await etcdCluster({ nodes: 2 });
    await c.waitStable(90_000);
    let ro: number;
    let admin: number;
    [rw, ro, admin, tlsPort] = await freePorts(4);
    ca = await throwawayCa(join(dir, 'ca'));
    writeFileSync(join(dir, 'pw'), c.cred.password, { mode: 0o600 });
    const proxyYaml = (listenRw: number, listenRo: number, extra: Record<string, unknown>) =>
      toYaml({
        scope: c.store!.scope,
        store: { type: 'etcd', endpoints: c.store!.endpoints },
        listen_rw: `127.0.0.1:${listenRw}`,
        listen_ro: `127.0.0.1:${listenRo}`,
        client_login_timeout: LOGIN_TIMEOUT_S,
        max_client_conn: MAX_CLIENT_CONN,
        health_check: { user: c.cred.user, password_file: join(dir, 'pw') },
        ...extra,
      });
    writeFileSync(join(dir, 'proxy.yaml'), proxyYaml(rw, ro!, { admin_listen: `127.0.0.1:${admin}` }));
    proxy = startProxy('proxy.yaml');
    const [tlsRo, patientRo, strictRo] = await freePorts(3);
    [patientPort, strictPort] = await freePorts(2);
    writeFileSync(
      join(dir, 'strict.yaml'),
      proxyYaml(strictPort!, strictRo!, { tls: { cert_file: ca.serverCert, key_file: ca.serverKey, mode: 'require', ca_file: ca.caFile, verify_client: true } }),
    );
    writeFileSync(join(dir, 'tls.yaml'), proxyYaml(tlsPort, tlsRo!, { tls: { cert_file: ca.serverCert, key_file: ca.serverKey }, max_client_conn_per_address: 3 }));
    writeFileSync(join(dir, 'patient.yaml'), proxyYaml(patientPort!, patientRo!, { client_login_timeout: 60 }));
    startProxy('tls.yaml');
    patient = startProxy('patient.yaml');
    startProxy('strict.yaml');
    await waitFor(
      'the proxy to route to a primary',
      async () => {
        const rows = (await (await fetch(`http://127.0.0.1:${admin}/nodes`)).json()) as { role: string; status: string }[];
        return rows.some((r) => r.role === 'primary' && r.status === 'up');
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    for (const port of [tlsPort, patientPort, strictPort]) {
      const listening = () =>
        new Promise<boolean>((resolve) => {
          const s = connect(port, '127.0.0.1', () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        });
      await waitFor(`a proxy to listen on ${port}`, listening, { timeoutMs: 20_000, intervalMs: 100 });
    }
  });
  after(async () => {
    // Every proxy process, each by its own pid: none may outlive the test.
    for (const p of proxies) p.kill('SIGKILL');
    await Promise.all(proxies.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : null)));
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a login that never completes is closed after client_login_timeout: silent, half a startup packet, stalled TLS, no password', async () => {
    const sslRequest = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    const cases: [string, number, (s: Socket) => void][] = [
      ['silent', rw, () => {}],
      ['half a startup packet', rw, (s) => s.write(startupPacket('postgres').subarray(0, 10))],
      ['SSLRequest, then no ClientHello', tlsPort, (s) => s.write(sslRequest)],
      ['a startup packet, then no password', rw, (s) => s.write(startupPacket('postgres'))],
    ];
    const results = await Promise.all(cases.map(([, port, send]) => rawClient(port, send, (LOGIN_TIMEOUT_S + 5) * 1000)));
    results.forEach((r, i) => {
      const what = cases[i]![0];
      assert.ok(r.closedAfterMs !== null, `${what}: closed by the proxy`);
      assert.ok(r.closedAfterMs >= LOGIN_TIMEOUT_S * 1000 - 100, `${what}: not before client_login_timeout (${r.closedAfterMs.toFixed(0)} ms)`);
    });
    assert.match(results[0]!.got.toString('latin1'), /client_login_timeout/, 'a plain client is told why');
  });

  it('5,000 connections held open: max_client_conn sessions, the rest refused with "too many clients"; memory bounded; the superuser still logs in directly', async () => {
    const pid = patient.pid!;
    const rss0 = rssMb(pid);
    const held: Socket[] = [];
    const replies: Buffer[] = [];
    await Promise.all(
      Array.from(
        { length: 5000 },
        (_, i) =>
          new Promise<void>((resolve) => {
            const s = connect(patientPort, '127.0.0.1', () => {
              s.write(startupPacket('postgres'));
              resolve();
            });
            replies[i] = Buffer.alloc(0);
            s.on('data', (d: Buffer) => (replies[i] = Buffer.concat([replies[i]!, d])));
            s.on('error', () => resolve());
            held.push(s);
          }),
      ),
    );
    try {
      const refused = await waitFor(
        'every connection past max_client_conn refused',
        () => {
          const n = replies.filter((r) => r.includes(Buffer.from('too many clients'))).length;
          return n >= 5000 - MAX_CLIENT_CONN ? n : false;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      assert.equal(refused, 5000 - MAX_CLIENT_CONN);
      assert.equal(replies.filter((r) => r.includes(Buffer.from('53300'))).length, refused, 'with the SQLSTATE PostgreSQL uses');
      const grown = rssMb(pid) - rss0;
      console.log(`# proxy: 5,000 connections, ${refused} refused; RSS grew ${grown.toFixed(1)} MB`);
      assert.ok(grown < 40, `the proxy's memory stayed bounded (grew ${grown.toFixed(1)} MB)`);
      const direct = await client(await primaryPort());
      assert.equal((await direct.query('SELECT 1 AS x')).rows[0].x, 1, 'the superuser logs in directly');
      await direct.end();
    } finally {
      for (const s of held) s.destroy();
    }
    // The clients gone, their sessions end with them: room again.
    await waitFor(
      'a session through the proxy again',
      () =>
        client(patientPort).then(
          (cl) => cl.end().then(() => true),
          () => false,
        ),
      { timeoutMs: 20_000, intervalMs: 200 },
    );
  });

  it('max_client_conn_per_address: a fourth connection from one address is refused, another address is not', async () => {
    const open = (localAddress: string) =>
      new Promise<{ socket: Socket; got: () => string }>((resolve, reject) => {
        let got = '';
        const socket = connect({ port: tlsPort, host: '127.0.0.1', localAddress }, () => resolve({ socket, got: () => got }));
        socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
        // A refused connection fails the test at once (after the connect, errors are the proxy's close).
        socket.on('error', (err) => reject(new Error(`connecting to the TLS proxy from ${localAddress}: ${err.message}`)));
      });
    const held = [await open('127.0.0.1'), await open('127.0.0.1'), await open('127.0.0.1')];
    try {
      const fourth = await open('127.0.0.1');
      const other = await open('127.0.0.2');
      held.push(fourth, other);
      await waitFor('the fourth connection from 127.0.0.1 refused', () => /too many connections from 127\.0\.0\.1 \(max_client_conn_per_address 3\)/.test(fourth.got()), {
        timeoutMs: 5000,
        intervalMs: 50,
      });
      // Taken: its login goes on to PostgreSQL's password request.
      other.socket.write(startupPacket('postgres'));
      await waitFor('the connection from 127.0.0.2 to reach the password request', () => other.got().includes('SCRAM-SHA-256'), { timeoutMs: 5000, intervalMs: 50 });
    } finally {
      for (const h of held) h.socket.destroy();
    }
  });

  it('absurd message lengths and garbage: an error, the socket destroyed, the file descriptors back to where they were', async () => {
    const pid = proxy.pid!;
    const keep = await client(rw);
    const fd0 = fdCount(pid);
    // In rounds of 8, well under max_client_conn.
    const attempts: { got: Buffer; closedAfterMs: number | null }[] = [];
    for (let round = 0; round < 6; round++) {
      attempts.push(
        ...(await Promise.all(
          Array.from({ length: 8 }, async (_, i) => {
            if (i % 2) return rawClient(rw, (s) => s.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')), 10_000);
            // A logged-in session that announces a message over PostgreSQL's 1 GB and keeps sending.
            const cl = await client(rw);
            const stream = (cl as unknown as { connection: { stream: Socket } }).connection.stream;
            const closed = new Promise<{ got: Buffer; closedAfterMs: number | null }>((resolve) => {
              let got = Buffer.alloc(0);
              stream.prependListener('data', (d: Buffer) => (got = Buffer.concat([got, d])));
              stream.on('close', () => resolve({ got, closedAfterMs: 0 }));
            });
            stream.write(Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff]));
            const junk = Buffer.alloc(1 << 20, 0x41);
            for (let k = 0; k < 20 && !stream.destroyed; k++) stream.write(junk);
            return closed;
          }),
        )),
      );
    }
    assert.equal(attempts.filter((a) => a.closedAfterMs === null).length, 0, 'every bad connection was closed by the proxy');
    const told = attempts.filter((a) => a.got.includes(Buffer.from('exceeds the limit'))).length;
    assert.ok(told > 0, 'an oversized message is answered with an error saying so');
    await waitFor(`the proxy's file descriptors back to ${fd0}`, () => fdCount(pid) <= fd0, { timeoutMs: 10_000, intervalMs: 100 });
    assert.equal((await keep.query('SELECT 1 AS x')).rows[0].x, 1, 'other sessions are untouched');
    await keep.end();
  });

  it('a 300 MB message is relayed as it comes: the proxy holds none of it whole', async () => {
    const pid = proxy.pid!;
    const cl = await client(rw);
    const rss0 = rssMb(pid);
    let peak = rss0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 50);
    try {
      const big = Buffer.alloc(300 * 1024 * 1024, 7);
      const { rows } = await cl.query('SELECT length($1::bytea) AS n', [big]);
      assert.equal(Number(rows[0].n), big.length);
    } finally {
      clearInterval(sampler);
      await cl.end();
    }
    console.log(`# proxy: a 300 MB message passed; RSS ${rss0.toFixed(0)} MB before, ${peak.toFixed(0)} MB at most`);
    assert.ok(peak - rss0 < 64, `the proxy's RSS grew ${(peak - rss0).toFixed(0)} MB while 300 MB passed`);
  });

  it('tls.mode require: plaintext refused (28000); a client certificate from the CA logs in with verify-full; none, refused', async () => {
    const base = { host: '127.0.0.1', port: strictPort, user: c.cred.user, password: c.cred.password, database: 'postgres', connectionTimeoutMillis: 10_000 };
    const plain = new pg.Client(base);
    await assert.rejects(plain.connect(), /TLS is required here \(tls\.mode: require\)/);
    const caPem = readFileSync(ca.caFile);
    const verified = new pg.Client({
      ...base,
      ssl: { ca: caPem, cert: readFileSync(ca.clientCert), key: readFileSync(ca.clientKey), servername: 'localhost', rejectUnauthorized: true },
    });
    await verified.connect();
    assert.equal((await verified.query('SELECT 1 AS x')).rows[0].x, 1);
    await verified.end();
    const anonymous = new pg.Client({ ...base, ssl: { ca: caPem, servername: 'localhost', rejectUnauthorized: true } });
    anonymous.on('error', () => {});
    await assert.rejects(anonymous.connect(), 'no client certificate: the handshake fails');
  });

  it('TLS below 1.2 and TLSv1.2 ciphers without forward secrecy are refused; ECDHE with AES-GCM is taken', () => {
    const handshake = (...args: string[]) => {
      const r = spawnSync('openssl', ['s_client', '-starttls', 'postgres', '-connect', `127.0.0.1:${tlsPort}`, '-brief', ...args], {
        input: '',
        timeout: 10_000,
        encoding: 'utf8',
      });
      return `${r.stdout}${r.stderr}`;
    };
    const ok = /Protocol version: TLSv1\.[23]/;
    assert.match(handshake('-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256'), /Ciphersuite: ECDHE-RSA-AES128-GCM-SHA256/);
    assert.doesNotMatch(handshake('-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0'), ok, 'TLSv1.1 refused');
    assert.doesNotMatch(handshake('-tls1_2', '-cipher', 'AES128-GCM-SHA256'), ok, 'RSA key exchange (no forward secrecy) refused');
    assert.doesNotMatch(handshake('-tls1_2', '-cipher', 'ECDHE-RSA-AES128-SHA'), ok, 'CBC (not AEAD) refused');
  });

  it('a TLS session the proxy ends gets close_notify first (no "unexpected eof" on the client)', () => {
    // A TLS client that never logs in: the proxy ends it at client_login_timeout, saying why.
    const r = spawnSync('openssl', ['s_client', '-starttls', 'postgres', '-connect', `127.0.0.1:${tlsPort}`, '-quiet'], { input: '', timeout: 15_000, encoding: 'utf8' });
    const out = `${r.stdout}${r.stderr}`;
    assert.match(out, /client_login_timeout/, out);
    assert.doesNotMatch(out, /unexpected eof/, out);
  });
});
