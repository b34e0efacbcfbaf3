/**
 * Composition of a proxy: the Proxy itself and its small HTTP admin API (GET /nodes), from a
 * validated ProxyConfig and a store handle. Used by `pgwarden proxy` and `pgwarden up`.
 * The admin API is one read-only route, so it is plain node:http (no framework in the proxy's
 * memory).
 */
import { createServer, type Server } from 'node:http';
import { loadTlsContext, readSecret, splitHostPort, type ProxyConfig } from '../config/index.js';
import { Proxy } from '../proxy/proxy.js';
import type { StateStore } from '../store/store.js';
import type { Logger } from '../util/log.js';

export interface RunningProxy {
  readonly proxy: Proxy;
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
    tls: cfg.tls ? loadTlsContext(cfg.tls, ['tls']) : null,
    log,
  });
  await proxy.start();
  const admin = cfg.admin_listen ? await listenAdmin(proxy, cfg.admin_listen) : null;
  return {
    proxy,
    async stop() {
      if (admin) {
        const closed = new Promise((r) => admin.close(r));
        admin.closeAllConnections();
        await closed;
      }
      await proxy.stop();
      await store.close();
    },
  };
}

function listenAdmin(proxy: Proxy, at: string): Promise<Server> {
  const server = createServer((req, res) => {
    const found = req.method === 'GET' && req.url === '/nodes';
    res.writeHead(found ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(found ? proxy.poolNodeRows(null) : { error: `no route ${req.method} ${req.url}` }));
  });
  const { host, port } = splitHostPort(at);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
