/**
 * TLS from the proxy to PostgreSQL (backend_tls): an SSLRequest on a fresh connection, then the
 * handshake over it, as libpq does with sslmode=require or verify-full.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface BackendTls {
  /** verify-full: the server's certificate must chain to `ca` and name the host. */
  readonly verify: boolean;
  readonly ca: Buffer | undefined;
}

/** The TLS client options both the sessions and the health checks use. */
export function tlsClientOptions(t: BackendTls): { ca: Buffer | undefined; rejectUnauthorized: boolean; checkServerIdentity?: () => undefined } {
  return { ca: t.ca, rejectUnauthorized: t.verify, ...(t.verify ? {} : { checkServerIdentity: () => undefined }) };
}

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** A TLS connection to host:port that has sent nothing of its own yet, within `timeoutMs`. */
export async function connectTls(host: string, port: number, t: BackendTls, timeoutMs: number): Promise<TLSSocket> {
  const plain = connect({ host, port, noDelay: true });
  const timer = setTimeout(() => plain.destroy(new Error('connect timeout')), timeoutMs);
  try {
    const answer = await new Promise<number>((resolve, reject) => {
      plain.once('error', reject);
      plain.once('close', () => reject(new Error('closed before answering the SSLRequest')));
      plain.once('connect', () => plain.write(SSL_REQUEST));
      plain.once('data', (d: Buffer) => {
        plain.pause();
        // PostgreSQL answers one byte and waits: anything more is not PostgreSQL.
        if (d.length === 1) resolve(d[0]!);
        else reject(new Error('unexpected answer to the SSLRequest'));
      });
    });
    if (answer !== 0x53) throw new Error(`${host}:${port} does not accept TLS (backend_tls)`);
    plain.removeAllListeners('close');
    plain.removeAllListeners('data');
    const secure = tlsConnect({ socket: plain as Socket, host, ...tlsClientOptions(t) });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    return secure;
  } catch (err) {
    plain.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
