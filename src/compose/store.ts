/**
 * Composition root of a store handle, from the `store:` section of a node or proxy config. Memory
 * stores made here are private to one process (a single-node cluster); `pgwarden up` shares one
 * MemoryBackend between its agents and proxy instead.
 */
import { rootCertificates } from 'node:tls';
import { readSecret, tlsFiles, type StoreConfig } from '../config/index.js';
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

/** TLS to etcd for https endpoints: the configured files (tlsFiles), or the system's CAs without a ca_file. */
function etcdTls(store: Extract<StoreConfig, { type: 'etcd' }>): { ca: Buffer; cert?: Buffer; key?: Buffer } | null {
  if (!store.endpoints.some((e) => e.startsWith('https://'))) return null;
  const files = tlsFiles(store, ['store']);
  return { ...files, ca: files.ca ?? Buffer.from(rootCertificates.join('\n')) };
}
