/**
 * TLS on PostgreSQL (`postgresql.tls`): the server's certificate, key and CA, copied where the
 * OS user owns them (PostgreSQL refuses a key others may read), and what every client of the
 * agent asks for: `sslmode=verify-full` against the CA, with SCRAM channel binding required, so a
 * host that a forged registration names gets no password (it cannot prove the name it is reached by).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { mkdirOwned, writeOwned, type OsUser } from './os-user.js';

/** The configured files (postgresql.tls). */
export interface PgTlsConfig {
  readonly cert_file: string;
  readonly key_file: string;
  readonly ca_file: string;
}

/** The OS user's copies, and the CA in memory for the agent's own connections. */
export interface PgTls {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
  readonly caPem: Buffer;
}

/** Copies the files into `<runDir>/tls`, owned by the OS user, the key 0600. */
export function installTls(user: OsUser, runDir: string, c: PgTlsConfig): PgTls {
  const dir = join(runDir, 'tls');
  mkdirOwned(user, dir, 0o700);
  const f = { cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), ca: join(dir, 'ca.pem') };
  const caPem = readFileSync(c.ca_file);
  writeOwned(user, f.cert, readFileSync(c.cert_file, 'utf8'), 0o644);
  writeOwned(user, f.key, readFileSync(c.key_file, 'utf8'), 0o600);
  writeOwned(user, f.ca, caPem.toString('utf8'), 0o644);
  return { ...f, caPem };
}

/** postgresql.conf: TLS on, with our copies; the CA also verifies client certificates when a hba line asks. */
export function serverTlsParameters(t: PgTls): Record<string, string> {
  return { ssl: 'on', ssl_cert_file: t.cert, ssl_key_file: t.key, ssl_ca_file: t.ca, ssl_min_protocol_version: 'TLSv1.2' };
}

/** For libpq conninfos (walreceiver, pg_basebackup, pg_rewind). */
export function libpqTls(t: PgTls | null): Record<string, string> {
  return t ? { sslmode: 'verify-full', sslrootcert: t.ca, channel_binding: 'require' } : {};
}

/** For node-postgres clients: the server's name verified against the CA; SCRAM-SHA-256-PLUS when offered. */
export function nodePgTls(t: PgTls | null): { ssl?: ConnectionOptions; enableChannelBinding?: boolean } {
  return t ? { ssl: { ca: t.caPem, rejectUnauthorized: true }, enableChannelBinding: true } : {};
}
