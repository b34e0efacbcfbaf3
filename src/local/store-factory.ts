/**
 * Builds the store handle a config asks for. Memory stores made here are private to one process
 * (a single-node cluster); `pgwarden up` shares one MemoryBackend between its agents and proxy.
 */
import { readSecret, type StoreConfig } from '../config/index.js';
import { MemoryBackend, MemoryStore } from '../store/memory.js';
import type { StateStore } from '../store/store.js';

export async function storeFor(cfg: { store: StoreConfig; scope: string }, ttlSeconds: number, callTimeoutMs: number): Promise<StateStore> {
  const s = cfg.store;
  if (s.type === 'memory') return new MemoryStore(new MemoryBackend(cfg.scope), ttlSeconds * 1000);
  // The etcd client (gRPC, protobuf) is about 27 MB of memory: loaded only by processes that use it.
  const { EtcdStore } = await import('../store/etcd.js');
  const auth = s.username ? { username: s.username, password: readSecret(s, ['store']) } : undefined;
  return new EtcdStore({ endpoints: s.endpoints, scope: cfg.scope, ttlSeconds: Math.ceil(ttlSeconds), callTimeoutMs, ...(auth ? { auth } : {}) });
}
