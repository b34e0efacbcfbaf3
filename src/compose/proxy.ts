/**
 * Composition root of a proxy: the Proxy itself and its HTTP admin API (GET /nodes), from a
 * validated ProxyConfig and a store handle. Used by `pgwarden proxy` and `pgwarden up`.
 */
import { loadTlsContext, readSecret, splitHostPort, type ProxyConfig } from '../config/index.js';
import { listenAdmin } from '../proxy/admin-http.js';
import { Proxy } from '../proxy/proxy.js';
import type { BackendTls } from '../proxy/backend-tls.js';
import { readFileSync } from 'node:fs';
import { ConfigError, errorMessage } from '../util/errors.js';
import type { StateStore } from '../store/store.js';
import type { Logger } from '../util/log.js';

export interface RunningProxy {
  readonly proxy: Proxy;
  stop(): Promise<void>;
}

/** The CA for verify-full read once, at start: a missing file is a config error naming its key. */
function backendTls(t: ProxyConfig['backend_tls']): BackendTls | null {
  if (t.mode === 'disable') return null;
  try {
    return { verify: t.mode === 'verify-full', ca: t.ca_file === undefined ? undefined : readFileSync(t.ca_file) };
  } catch (err) {
    throw new ConfigError(['backend_tls', 'ca_file'], `cannot read it: ${errorMessage(err)}`);
  }
}

export async function startProxy(cfg: ProxyConfig, store: StateStore, log: Logger): Promise<RunningProxy> {
  const password = readSecret(cfg.health_check, ['health_check']);
  // Metrics are served on the admin port: without one, prom-client (about 10 MB) is not loaded.
  const metrics = cfg.admin_listen ? new (await import('../proxy/metrics.js')).ProxyMetrics(cfg.name) : null;
  const proxy = new Proxy({
    name: cfg.name,
    store,
    storeTimeoutMs: cfg.store_timeout * 1000,
    publishEveryMs: (cfg.ttl * 1000) / 3,
    listen: { rw: splitHostPort(cfg.listen_rw), ro: splitHostPort(cfg.listen_ro) },
    health: { user: cfg.health_check.user, password, database: cfg.health_check.database },
    healthIntervalMs: cfg.health_check.interval * 1000,
    healthTimeoutMs: cfg.health_check.timeout * 1000,
    maxLagBytes: cfg.max_lag,
    weights: cfg.weights,
    failoverWaitMs: cfg.failover_wait * 1000,
    maxMessageLength: cfg.max_message_length,
    loginTimeoutMs: cfg.client_login_timeout * 1000,
    maxClientConn: cfg.max_client_conn,
    maxClientConnPerAddress: cfg.max_client_conn_per_address,
    roFallbackToPrimary: cfg.ro_fallback_to_primary,
    roAffinityMs: cfg.ro_affinity * 1000,
    roAffinityApplications: cfg.ro_affinity_applications,
    tls: cfg.tls ? { context: loadTlsContext(cfg.tls, ['tls']), required: cfg.tls.mode === 'require', verifyClient: cfg.tls.verify_client } : null,
    backendTls: backendTls(cfg.backend_tls),
    log,
    monitor: metrics ?? undefined,
  });
  metrics?.bind(proxy);
  await proxy.start();
  const admin = cfg.admin_listen && metrics ? await listenAdmin(() => proxy.poolNodeRows(null), metrics.registry, splitHostPort(cfg.admin_listen)) : null;
  return {
    proxy,
    async stop() {
      await admin?.close();
      await proxy.stop();
      await store.close();
    },
  };
}
