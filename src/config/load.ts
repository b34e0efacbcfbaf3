/**
 * Loading: YAML file -> zod validation -> timing rules -> secrets resolved. Every failure is a
 * ConfigError that names the key path; the CLI prints it and exits 2.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import type { ZodType } from 'zod';
import { allowlistOf } from '../util/cidr.js';
import { ConfigError, errorMessage } from '../util/errors.js';
import { clientConfigSchema, nodeConfigSchema, type ClientConfig, type NodeConfig, type StoreConfig } from './schema.js';
import { checkTiming } from './timing.js';
import { proxyConfigSchema, type ProxyConfig } from './proxy-schema.js';

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([], `cannot read ${file}: ${errorMessage(err)}`);
  }
  try {
    return parseYaml(text);
  } catch (err) {
    throw new ConfigError([], `${file} is not valid YAML: ${errorMessage(err)}`);
  }
}

/** Validates `raw` against `schema`; the first issue becomes a ConfigError with its key path. */
export function validate<T>(schema: ZodType<T>, raw: unknown): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new ConfigError([], 'invalid');
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  const reason = issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
  throw new ConfigError(path, reason);
}

/** Parses and checks a node config object; relative paths are resolved against `baseDir`. */
export function parseNodeConfig(raw: unknown, baseDir = process.cwd()): NodeConfig {
  const cfg = validate(nodeConfigSchema, raw);
  const timingError = checkTiming(cfg);
  if (timingError) throw timingError;
  const abs = (p: string) => resolve(baseDir, p);
  cfg.data_dir = abs(cfg.data_dir);
  if (cfg.run_dir) cfg.run_dir = abs(cfg.run_dir);
  for (const c of [cfg.postgresql.superuser, cfg.postgresql.replication, cfg.postgresql.monitor, cfg.postgresql.rewind])
    if (c?.password_file) c.password_file = abs(c.password_file);
  if (cfg.api.auth_token_file) cfg.api.auth_token_file = abs(cfg.api.auth_token_file);
  const tls = cfg.postgresql.tls;
  if (tls) for (const k of ['cert_file', 'key_file', 'ca_file'] as const) tls[k] = abs(tls[k]);
  const apiTls = cfg.api.tls;
  if (apiTls) {
    apiTls.cert_file = abs(apiTls.cert_file);
    apiTls.key_file = abs(apiTls.key_file);
    if (apiTls.ca_file) apiTls.ca_file = abs(apiTls.ca_file);
  }
  cfg.api.allowlist.forEach((entry, i) => {
    try {
      allowlistOf([entry]);
    } catch (err) {
      throw new ConfigError(['api', 'allowlist', i], errorMessage(err));
    }
  });
  resolveStoreFiles(cfg.store, abs);
  if (cfg.log.file) cfg.log.file = abs(cfg.log.file);
  for (const k of ['on_start', 'on_stop', 'on_role_change'] as const) {
    const script = cfg.callbacks[k];
    if (script) cfg.callbacks[k] = abs(script);
  }
  return cfg;
}

export function loadProxyConfig(file: string): ProxyConfig {
  const cfg = validate(proxyConfigSchema, readYaml(file));
  const base = dirname(resolve(file));
  if (cfg.health_check.password_file) cfg.health_check.password_file = resolve(base, cfg.health_check.password_file);
  if (cfg.log.file) cfg.log.file = resolve(base, cfg.log.file);
  resolveStoreFiles(cfg.store, (p) => resolve(base, p));
  return cfg;
}

/** The etcd store's files (password, TLS), relative to the config file. */
function resolveStoreFiles(store: StoreConfig, abs: (p: string) => string): void {
  if (store.type === 'etcd') for (const k of ['password_file', 'ca_file', 'cert_file', 'key_file'] as const) if (store[k]) store[k] = abs(store[k]);
}

export function loadNodeConfig(file: string): NodeConfig {
  return parseNodeConfig(readYaml(file), dirname(resolve(file)));
}

/**
 * Client config for CLI commands: either a cluster file (`endpoints:` list, written by `pgwarden up`)
 * or a node.yaml (its api.connect_address and token).
 */
export function loadClientConfig(file: string): ClientConfig {
  const raw = readYaml(file);
  const base = dirname(resolve(file));
  if (raw && typeof raw === 'object' && 'endpoints' in raw) {
    const cfg = validate(clientConfigSchema, raw);
    for (const k of ['auth_token_file', 'ca_file', 'cert_file', 'key_file'] as const) if (cfg[k]) cfg[k] = resolve(base, cfg[k]);
    return cfg;
  }
  // A node's own file: its API, verified and entered as that node would (its CA, its certificate).
  const node = parseNodeConfig(raw, base);
  const t = node.api.tls;
  return {
    endpoints: [`${t ? 'https' : 'http'}://${node.api.connect_address}`],
    auth_token_file: node.api.auth_token_file,
    proxies: [],
    ...(t ? { ca_file: t.ca_file, cert_file: t.cert_file, key_file: t.key_file } : {}),
  };
}

/** The proxy's TLS certificate and key as a secure context; a file problem names its key. */
export function loadTlsContext(
  tls: { cert_file: string; key_file: string; min_version?: 'TLSv1.2' | 'TLSv1.3'; ciphers?: string; ca_file?: string | undefined },
  path: string[],
): SecureContext {
  const read = (key: 'cert_file' | 'key_file' | 'ca_file') => {
    try {
      return readFileSync(tls[key]!);
    } catch (err) {
      throw new ConfigError([...path, key], `cannot read it: ${errorMessage(err)}`);
    }
  };
  const cert = read('cert_file');
  privateKeyModeOk(tls.key_file, [...path, 'key_file']);
  const key = read('key_file');
  const ca = tls.ca_file === undefined ? undefined : read('ca_file');
  try {
    return createSecureContext({ cert, key, ca, minVersion: tls.min_version, ciphers: tls.ciphers, honorCipherOrder: true });
  } catch (err) {
    throw new ConfigError(path, `certificate, key, ca_file or ciphers are not usable: ${errorMessage(err)}`);
  }
}

/** PostgreSQL's rule for a server key: 0600 at most, or 0640 when root owns it. */
function privateKeyModeOk(file: string, path: string[]): void {
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    throw new ConfigError(path, `cannot read it: ${errorMessage(err)}`);
  }
  const mode = st.mode & 0o777;
  const allowed = st.uid === 0 ? 0o640 : 0o600;
  if (mode & ~allowed) {
    throw new ConfigError(path, `${file} has mode 0${mode.toString(8)}: group or others may read the private key; chmod 600 it (or 640 with root as owner)`);
  }
}

/**
 * Reads a secret from its file (trailing newline dropped) or environment variable. The file must
 * be private, as libpq's pgpass must: no access for group or others. `owned`: it must also belong
 * to the user this process runs as (agents and proxies: nobody else may swap the secret).
 */
export function readSecret(src: { password_file?: string | undefined; password_env?: string | undefined }, path: string[], owned = true): string {
  if (src.password_file) return readSecretFile(src.password_file, [...path, 'password_file'], owned);
  const name = src.password_env!;
  const value = process.env[name];
  if (!value) throw new ConfigError([...path, 'password_env'], `environment variable ${name} is not set`);
  return value;
}

function readSecretFile(file: string, key: string[], owned: boolean): string {
  let value: string;
  try {
    const st = statSync(file);
    if (st.mode & 0o077) throw new ConfigError(key, `${file} has mode 0${(st.mode & 0o777).toString(8)}: group or others may use it; chmod 600 it`);
    const uid = process.geteuid?.();
    if (owned && uid !== undefined && st.uid !== uid) throw new ConfigError(key, `${file} is owned by uid ${st.uid}, not by the user pgwarden runs as (uid ${uid}); chown it`);
    value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(key, `cannot read the secret: ${errorMessage(err)}`);
  }
  if (!value) throw new ConfigError(key, `${file} is empty`);
  return value;
}

/**
 * The TLS files a section names (api.tls, postgresql.tls, store:, a client file): read at start, the
 * key checked for privacy, a problem naming its key.
 */
export function tlsFiles(
  t: { ca_file?: string | undefined; cert_file?: string | undefined; key_file?: string | undefined },
  path: string[],
): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const read = (k: 'ca_file' | 'cert_file' | 'key_file') => {
    const file = t[k];
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigError([...path, k], `cannot read it: ${errorMessage(err)}`);
    }
  };
  if (t.key_file) privateKeyModeOk(t.key_file, [...path, 'key_file']);
  const [ca, cert, key] = [read('ca_file'), read('cert_file'), read('key_file')];
  return { ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) };
}

/** Reads every secret a node's config names, as its agent will at start: `check-config` reports what would fail there. */
export function checkSecrets(cfg: NodeConfig): void {
  readSecret(cfg.postgresql.superuser, ['postgresql', 'superuser']);
  readSecret(cfg.postgresql.replication, ['postgresql', 'replication']);
  if (cfg.postgresql.monitor) readSecret(cfg.postgresql.monitor, ['postgresql', 'monitor']);
  if (cfg.postgresql.rewind) readSecret(cfg.postgresql.rewind, ['postgresql', 'rewind']);
  readToken(cfg.api, ['api', 'auth_token_file']);
  if (cfg.store.type === 'etcd' && cfg.store.username) readSecret(cfg.store, ['store']);
  checkPgTlsFiles(cfg);
  if (cfg.api.tls) tlsFiles(cfg.api.tls, ['api', 'tls']);
}

/** postgresql.tls: every file readable, the key private (PostgreSQL's own rule); a problem names its key. */
export function checkPgTlsFiles(cfg: NodeConfig): void {
  if (cfg.postgresql.tls) tlsFiles(cfg.postgresql.tls, ['postgresql', 'tls']);
}

/** What an operator must hear once: without postgresql.tls, passwords and data cross the network in clear. */
export const NO_PG_TLS_WARNING =
  'postgresql.tls is not set: replication, pg_basebackup, pg_rewind and client logins run without TLS, so data crosses the network in clear and a host that a forged registration names can ask for a password';

/** Shorter tokens can be guessed or ground down: 32 bytes is what `openssl rand -hex 16` prints. */
export const MIN_TOKEN_BYTES = 32;

/** The API token from its file (see readSecret); null when none is configured. */
export function readToken(api: { auth_token_file?: string | undefined }, path: string[], owned = true): string | undefined {
  if (!api.auth_token_file) return undefined;
  const token = readSecretFile(api.auth_token_file, path, owned).trim();
  if (Buffer.byteLength(token) < MIN_TOKEN_BYTES) {
    throw new ConfigError(path, `the token in ${api.auth_token_file} is ${Buffer.byteLength(token)} bytes: at least ${MIN_TOKEN_BYTES} are required (e.g. openssl rand -hex 16)`);
  }
  return token;
}
