/**
 * Composition of a proxy: the Proxy itself and its small HTTP admin API (GET /nodes), from a
 * validated ProxyConfig and a store handle. Used by `pgwarden proxy` and `pgwarden up`.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { readSecret, type ProxyConfig } from '../config/index.js';
import { Proxy } from '../proxy/proxy.js';
import type { StateStore } from '../store/store.js';
import type { Logger } from '../util/log.js';
import { splitHostPort } from './node.js';

export interface RunningProxy {
  readonly proxy: Proxy;
  readonly admin: FastifyInstance | null;
  stop(): Promise<void>;
}

export async function startProxy(cfg: ProxyConfig, store: StateStore, log: Logger): Promise<RunningProxy> {
  const password = readSecret(cfg.health_check, ['health_check']);
  const proxy = new Proxy({
    name: cfg.name,
    store,
    listen: { rw: splitHostPort(cfg.listen_rw), ro: splitHostPort(cfg.listen_ro) },
    health: { user: cfg.health_check.user, password, database: cfg.health_check.database },
    healthIntervalMs: cfg.health_check.interval * 1000,
    healthTimeoutMs: cfg.health_check.timeout * 1000,
    maxLagBytes: cfg.max_lag,
    weights: cfg.weights,
    failoverWaitMs: cfg.failover_wait * 1000,
    maxMessageLength: cfg.max_message_length,
    log,
  });
  await proxy.start();
  let admin: FastifyInstance | null = null;
  if (cfg.admin_listen) {
    admin = Fastify({ logger: false });
    admin.get('/nodes', async () => proxy.poolNodeRows(null));
    await admin.listen(splitHostPort(cfg.admin_listen));
  }
  return {
    proxy,
    admin,
    async stop() {
      await admin?.close();
      await proxy.stop();
      await store.close();
    },
  };
}
