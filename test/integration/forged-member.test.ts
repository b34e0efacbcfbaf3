/**
 * Issue 15: whoever can write the store must not collect passwords. A cluster with TLS on
 * PostgreSQL (postgresql.tls) on a real etcd; a writer of the store registers a fake member and
 * makes it the leader, so every agent turns to it (the standbys' walreceivers, the demoted old
 * primary). The fake first answers TLS with a certificate for the right address but from another
 * CA, then refuses TLS outright; either way it asks for a cleartext password. It must see the
 * agents come, and never receive a password.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TLSSocket } from 'node:tls';
import { Etcd3 } from 'etcd3';
import { throwawayCa } from '../../src/local/throwaway-ca.js';
import { EtcdStore } from '../../src/store/etcd.js';
import { keys } from '../../src/store/keys.js';
import { waitFor } from '../../src/util/deadline.js';
import { etcdCluster, type ClusterHarness } from '../support/cluster.js';
import { freePorts } from '../support/ports.js';

const SSL_REQUEST = 80877103;
/** AuthenticationCleartextPassword: what a password thief asks for. */
const ASK_CLEARTEXT = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]);

interface Seen {
  connections: number;
  tlsHandshakes: number;
  startups: number;
  passwords: number;
}

/** A server that speaks just enough of the protocol to ask for a password. */
function fakePostgres(tls: { cert: Buffer; key: Buffer } | null, seen: Seen): Server {
  const askForPassword = (s: Socket | TLSSocket) => {
    let startup = true;
    s.on('data', (d: Buffer) => {
      if (startup) {
        startup = false;
        seen.startups++;
        s.write(ASK_CLEARTEXT);
      } else if (d[0] === 0x70) seen.passwords++; // 'p': PasswordMessage
    });
  };
  return createServer((socket) => {
    seen.connections++;
    socket.on('error', () => {});
    socket.once('data', (first: Buffer) => {
      if (first.length >= 8 && first.readInt32BE(4) === SSL_REQUEST) {
        if (!tls) {
          socket.write('N');
          askForPassword(socket);
          return;
        }
        socket.write('S');
        const secure = new TLSSocket(socket, { isServer: true, cert: tls.cert, key: tls.key });
        secure.on('error', () => {});
        secure.on('secure', () => seen.tlsHandshakes++);
        askForPassword(secure);
        return;
      }
      // A plaintext startup straight away.
      seen.startups++;
      socket.write(ASK_CLEARTEXT);
      socket.on('data', (d: Buffer) => {
        if (d[0] === 0x70) seen.passwords++;
      });
    });
  });
}

describe('a member forged in the store gets no password', { timeout: 240_000 }, () => {
  let c: ClusterHarness;
  let raw: Etcd3;
  let writer: EtcdStore;
  const servers: Server[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'pgw-forged-'));

  before(async () => {
    c = await etcdCluster({ pgTls: true });
    await c.waitStable(90_000);
    raw = new Etcd3({ hosts: [...c.store!.endpoints] });
    writer = new EtcdStore({ endpoints: [...c.store!.endpoints], scope: c.store!.scope, ttlSeconds: 10, callTimeoutMs: 2000 });
  });
  after(async () => {
    for (const s of servers) s.close();
    raw?.close();
    await writer?.close();
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Registers `name` at 127.0.0.1:port and makes it the leader, as a writer of the store can. */
  const forge = async (name: string, port: number) => {
    await writer.register(
      {
        name,
        id: 90 + name.length,
        host: '127.0.0.1',
        port,
        api_url: 'http://127.0.0.1:1',
        tags: { priority: 100, location: 'default', nofailover: false, noloadbalance: false, nosync: false, clonefrom: false },
      },
      AbortSignal.timeout(3000),
    );
    await raw.put(keys(c.store!.scope).leader).value(name);
  };

  const listen = async (server: Server): Promise<number> => {
    const [port] = await freePorts(1);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    servers.push(server);
    return port!;
  };

  it('a fake with a certificate for its address from another CA: the agents come, the TLS handshake fails, no password', async () => {
    const other = await throwawayCa(join(dir, 'other-ca'));
    const seen: Seen = { connections: 0, tlsHandshakes: 0, startups: 0, passwords: 0 };
    const port = await listen(fakePostgres({ cert: readFileSync(other.serverCert), key: readFileSync(other.serverKey) }, seen));
    await forge('fake', port);
    await waitFor('three connection attempts to the fake leader', () => seen.connections >= 3, { timeoutMs: 30_000 });
    assert.equal(seen.tlsHandshakes, 0, 'no client accepted a certificate from another CA');
    assert.equal(seen.startups, 0);
    assert.equal(seen.passwords, 0);
  });

  it('a fake that refuses TLS and asks for a cleartext password: the agents come and go, no password', async () => {
    const seen: Seen = { connections: 0, tlsHandshakes: 0, startups: 0, passwords: 0 };
    const port = await listen(fakePostgres(null, seen));
    await forge('forged', port);
    await waitFor('three connection attempts to the fake leader', () => seen.connections >= 3, { timeoutMs: 30_000 });
    assert.equal(seen.startups, 0, 'verify-full: no client goes on without TLS');
    assert.equal(seen.passwords, 0);
    // Every pgpass line names a member's host and port: none is for any host.
    for (const node of ['node1', 'node2', 'node3']) {
      const pgpass = readFileSync(join(c.dataDir(node), '..', 'run', 'pgpass'), 'utf8');
      assert.ok(
        pgpass
          .split('\n')
          .filter(Boolean)
          .every((l) => /^127\.0\.0\.1:\d+:\*:/.test(l)),
        pgpass.replace(/:[^:\n]*$/gm, ':…'),
      );
    }
  });
});
