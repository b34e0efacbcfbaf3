/**
 * A throwaway certificate authority for trying TLS on one machine (`pgwarden up --tls`, tests):
 * a CA, a server certificate for localhost and 127.0.0.1, and a client certificate, made with the
 * `openssl` command. Keys are written 0600. Nothing here is meant for production.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { mkdirOwned, writeOwned, type OsUser } from '../postgres/os-user.js';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface ThrowawayCa {
  readonly caFile: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** For a client certificate login; its common name is `clientName`. */
  readonly clientCert: string;
  readonly clientKey: string;
}

/** The server certificate and key copied into `at` for `user` (PostgreSQL, PgBouncer: a key they own, 0600). */
export function serverFilesFor(ca: ThrowawayCa, at: string, user: OsUser): { cert: string; key: string } {
  mkdirOwned(user, at, 0o755);
  const cert = join(resolve(at), 'server.pem');
  const key = join(resolve(at), 'server.key');
  writeOwned(user, cert, readFileSync(ca.serverCert, 'utf8'), 0o644);
  writeOwned(user, key, readFileSync(ca.serverKey, 'utf8'), 0o600);
  return { cert, key };
}

/** Makes the files in `dir` unless they are there already (a restarted `up` keeps its CA). */
export async function throwawayCa(dir: string, clientName = 'postgres'): Promise<ThrowawayCa> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = (name: string) => join(dir, name);
  const files: ThrowawayCa = {
    caFile: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
  };
  if (Object.values(files).every((p) => existsSync(p))) return files;
  const openssl = (...args: string[]) => exec('openssl', args);
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', '/CN=pgwarden throwaway CA', '-keyout', f('ca.key'), '-out', files.caFile);
  writeFileSync(f('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  for (const [cert, key, subject, ext] of [
    [files.serverCert, files.serverKey, '/CN=localhost', ['-extfile', f('server.ext')]],
    [files.clientCert, files.clientKey, `/CN=${clientName}`, []],
  ] as const) {
    await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', key, '-out', `${cert}.csr`);
    await openssl('x509', '-req', '-in', `${cert}.csr`, '-CA', files.caFile, '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '3650', '-out', cert, ...ext);
  }
  for (const key of [f('ca.key'), files.serverKey, files.clientKey]) chmodSync(key, 0o600);
  return files;
}
