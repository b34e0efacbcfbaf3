/**
 * Builds the store handle a node config asks for. Memory stores made here are private to one
 * process (a single-node cluster); `pgwarden up` shares one MemoryBackend between its agents.
 */
import { readSecret, type NodeConfig } from '../config/index.js';
import { EtcdStore } from '../store/etcd.js';
import { MemoryBackend, MemoryStore } from '../store/memory.js';
import type { StateStore } from '../store/store.js';

export function storeFor(cfg: NodeConfig): StateStore {
  const s = cfg.store;
  if (s.type === 'memory') return new MemoryStore(new MemoryBackend(cfg.scope), cfg.ttl * 1000);
  const auth = s.username ? { username: s.username, password: readSecret(s, ['store']) } : undefined;
  return new EtcdStore({ endpoints: s.endpoints, scope: cfg.scope, ttlSeconds: Math.ceil(cfg.ttl), callTimeoutMs: cfg.retry_timeout * 1000, ...(auth ? { auth } : {}) });
}
