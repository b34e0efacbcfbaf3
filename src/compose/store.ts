/**
 * Composition root of a store handle, from the `store:` section of a node or proxy config. Memory
 * stores made here are private to one process (a single-node cluster); `pgwarden up` shares one
 * MemoryBackend between its agents and proxy instead.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { privateKeyModeOk, readSecret, type StoreConfig } from '../config/index.js';
import { ConfigError, errorMessage } from '../util/errors.js';
import { MemoryBackend, MemoryStore } from '../store/memory.js';
import type { StateStore } from '../store/store.js';

export interface StoreTiming {
  /** The session (lease) TTL: the cluster's ttl. */
  readonly ttlSeconds: number;
  /** Upper bound of one call. */
  readonly callTimeoutMs: number;
}

export async function storeFor(store: StoreConfig, scope: string, timing: StoreTiming): Promise<StateStore> {
  if (store.type === 'memory') return new MemoryStore(new MemoryBackend(scope), timing.ttlSeconds * 1000);
  // The etcd client (gRPC, protobuf) is about 27 MB of memory: loaded only by processes that use it.
  const { EtcdStore } = await import('../store/etcd.js');
  const auth = store.username ? { username: store.username, password: readSecret(store, ['store']) } : undefined;
  const tls = etcdTls(store);
  return new EtcdStore({
    endpoints: store.endpoints,
    scope,
    ttlSeconds: Math.ceil(timing.ttlSeconds),
    callTimeoutMs: timing.callTimeoutMs,
    ...(auth ? { auth } : {}),
    ...(tls ? { tls } : {}),
  });
}

/**
 * The files for TLS to etcd, read once at start: a missing file names its key. https without a
 * ca_file trusts the system's CAs. The client key must be private (as a server key must).
 */
function etcdTls(store: Extract<StoreConfig, { type: 'etcd' }>): { ca: Buffer; cert?: Buffer; key?: Buffer } | null {
  if (!store.endpoints.some((e) => e.startsWith('https://'))) return null;
  const read = (key: 'ca_file' | 'cert_file' | 'key_file', file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigError(['store', key], `cannot read it: ${errorMessage(err)}`);
    }
  };
  if (store.key_file) privateKeyModeOk(store.key_file, ['store', 'key_file']);
  return {
    ca: store.ca_file ? read('ca_file', store.ca_file) : Buffer.from(rootCertificates.join('\n')),
    ...(store.cert_file && store.key_file ? { cert: read('cert_file', store.cert_file), key: read('key_file', store.key_file) } : {}),
  };
}
