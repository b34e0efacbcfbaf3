/**
 * Builds the store handle a config asks for. Memory stores made here are private to one process
 * (a single-node cluster); `pgwarden up` shares one MemoryBackend between its agents and proxy.
 */
import { readSecret, type StoreConfig } from '../config/index.js';
import { EtcdStore } from '../store/etcd.js';
import { MemoryBackend, MemoryStore } from '../store/memory.js';
import type { StateStore } from '../store/store.js';

export function storeFor(cfg: { store: StoreConfig; scope: string }, ttlSeconds: number, callTimeoutMs: number): StateStore {
  const s = cfg.store;
  if (s.type === 'memory') return new MemoryStore(new MemoryBackend(cfg.scope), ttlSeconds * 1000);
  const auth = s.username ? { username: s.username, password: readSecret(s, ['store']) } : undefined;
  return new EtcdStore({ endpoints: s.endpoints, scope: cfg.scope, ttlSeconds: Math.ceil(ttlSeconds), callTimeoutMs, ...(auth ? { auth } : {}) });
}
