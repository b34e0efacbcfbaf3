/**
 * Composition root of one node: the controller, the agent and its API, from a validated NodeConfig
 * and a store handle. Used by `pgwarden agent` (one node, etcd) and `pgwarden up` (N nodes, memory).
 */
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { AgentMetrics } from '../api/agent-metrics.js';
import { buildApi } from '../api/server.js';
import { checkPgTlsFiles, NO_PG_TLS_WARNING, tlsFiles, readSecret, readToken, splitHostPort, type NodeConfig } from '../config/index.js';
import { Agent } from '../ha/agent.js';
import { allowlistOf } from '../util/cidr.js';
import type { HaConfig } from '../ha/view.js';
import { PgController } from '../postgres/controller.js';
import { resolveOsUser } from '../postgres/os-user.js';
import { checkWatchdog } from '../postgres/watchdog.js';
import { Callbacks } from '../ha/callbacks.js';
import { FloatingIp, checkFloatingIp } from '../vip/floating-ip.js';
import type { StateStore } from '../store/store.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';

export interface RunningNode {
  readonly name: string;
  readonly agent: Agent;
  readonly pg: PgController;
  readonly api: FastifyInstance;
  readonly store: StateStore;
  /** Stops the agent and its API; `stopPostgres` also stops the instance cleanly. */
  stop(opts: { stopPostgres: boolean; revoke: boolean }): Promise<void>;
}

/** Validates the secrets and builds the node; nothing runs until start(). */
export function buildNode(cfg: NodeConfig, store: StateStore, log: Logger, clock: Clock = systemClock) {
  const superuser = { username: cfg.postgresql.superuser.username, password: readSecret(cfg.postgresql.superuser, ['postgresql', 'superuser']) };
  const replication = { username: cfg.postgresql.replication.username, password: readSecret(cfg.postgresql.replication, ['postgresql', 'replication']) };
  const mon = cfg.postgresql.monitor;
  const monitor = mon ? { username: mon.username, password: readSecret(mon, ['postgresql', 'monitor']) } : null;
  const rw = cfg.postgresql.rewind;
  const rewind = rw ? { username: rw.username, password: readSecret(rw, ['postgresql', 'rewind']) } : null;
  const token = readToken(cfg.api, ['api', 'auth_token_file']);
  checkPgTlsFiles(cfg);
  if (!cfg.postgresql.tls) log.warn(NO_PG_TLS_WARNING);
  // api.tls: the same files serve HTTPS and, as a client, verify and enter the other agents' APIs.
  const apiTls = cfg.api.tls ? tlsFiles(cfg.api.tls, ['api', 'tls']) : null;
  const user = resolveOsUser(cfg.os_user);
  const listen = splitHostPort(cfg.postgresql.listen);
  const connect = splitHostPort(cfg.postgresql.connect_address);
  const apiListen = splitHostPort(cfg.api.listen);
  const watchdog = watchdogFor(cfg, log);
  if (cfg.vip) checkFloatingIp(cfg.vip);
  const vip = cfg.vip ? new FloatingIp(cfg.vip, log.child({ component: 'vip' })) : undefined;
  // Without the watchdog it requires, a node may run as a standby but never take the lock.
  const tags = watchdog.refuseLock ? { ...cfg.tags, nofailover: true } : cfg.tags;
  const pg = new PgController({
    name: cfg.name,
    clusterName: cfg.scope,
    dataDir: cfg.data_dir,
    binDir: cfg.bin_dir,
    runDir: cfg.run_dir ?? join(dirname(cfg.data_dir), `${cfg.name}-run`),
    user,
    listenHost: listen.host,
    port: listen.port,
    superuser,
    replication,
    monitor,
    rewind,
    parameters: cfg.postgresql.parameters,
    pgHba: cfg.postgresql.pg_hba,
    stopTimeoutMs: cfg.postgresql.stop_timeout * 1000,
    initdbOptions: cfg.postgresql.initdb,
    watchdog: watchdog.device,
    vip: cfg.vip ?? null,
    tls: cfg.postgresql.tls ?? null,
    log: log.child({ component: 'postgres' }),
  });
  const callbacks = new Callbacks({
    scripts: cfg.callbacks,
    timeoutMs: cfg.callbacks.timeout * 1000,
    scope: cfg.scope,
    env: withoutSecrets(cfg),
    log: log.child({ component: 'callbacks' }),
  });
  const metrics = new AgentMetrics({ scope: cfg.scope, name: cfg.name });
  const agent = new Agent({
    name: cfg.name,
    config: haConfigFrom({ ...cfg, tags }),
    store,
    pg,
    clock,
    log: log.child({ component: 'ha' }),
    vip,
    callbacks,
    peerTls: apiTls,
    monitor: metrics,
    registration: { name: cfg.name, id: cfg.id ?? null, host: connect.host, port: connect.port, api_url: `${cfg.api.tls ? 'https' : 'http'}://${cfg.api.connect_address}`, tags },
  });
  metrics.bind(agent);
  const api = buildApi({
    agent,
    metrics: metrics.registry,
    store,
    authToken: token,
    allowlist: allowlistOf(cfg.api.allowlist),
    timeoutMs: cfg.retry_timeout * 1000,
    drainTimeoutS: cfg.drain_timeout,
    maximumLagOnFailover: BigInt(cfg.maximum_lag_on_failover),
    ttlMs: cfg.ttl * 1000,
    consistency: () => pg.consistency(),
    https: apiTls ? { cert: apiTls.cert!, key: apiTls.key!, ...(apiTls.ca ? { ca: apiTls.ca } : {}), requestCert: cfg.api.tls!.verify_client } : null,
    peerTls: apiTls,
  });

  return {
    async start(): Promise<RunningNode> {
      await api.listen({ host: apiListen.host, port: apiListen.port });
      agent.start();
      return {
        name: cfg.name,
        agent,
        pg,
        api,
        store,
        async stop(opts) {
          await agent.stop(opts);
          await api.close();
        },
      };
    },
  };
}

/** The callbacks' environment: the agent's, less the variables the config reads passwords from. */
function withoutSecrets(cfg: NodeConfig): NodeJS.ProcessEnv {
  const env = { ...process.env };
  const sources: { password_env?: string | undefined }[] = [
    cfg.postgresql.superuser,
    cfg.postgresql.replication,
    cfg.postgresql.monitor ?? {},
    cfg.postgresql.rewind ?? {},
    cfg.store.type === 'etcd' ? cfg.store : {},
  ];
  for (const { password_env } of sources) if (password_env) delete env[password_env];
  return env;
}

/** The watchdog device the guard keeps alive (null: none), and whether the node must stay off the lock. */
function watchdogFor(cfg: NodeConfig, log: Logger): { device: string | null; refuseLock: boolean } {
  const { mode, device } = cfg.watchdog;
  if (mode === 'off') return { device: null, refuseLock: false };
  const check = checkWatchdog(device, cfg.ttl - 1);
  if (check.usable) {
    log.info({ device }, 'watchdog: in use behind the lease guard');
    return { device, refuseLock: false };
  }
  if (mode === 'automatic') {
    log.info({ device, reason: check.reason }, 'watchdog: not used (the lease guard alone enforces the lease)');
    return { device: null, refuseLock: false };
  }
  log.error({ device, reason: check.reason }, 'watchdog: required but not usable; this node will not take the leader lock');
  return { device: null, refuseLock: true };
}

/** The HA timings and rules of a node config, in the units the decision uses. */
export function haConfigFrom(
  cfg: Pick<
    NodeConfig,
    | 'loop_wait'
    | 'ttl'
    | 'retry_timeout'
    | 'maximum_lag_on_failover'
    | 'primary_start_timeout'
    | 'primary_hang_timeout'
    | 'tags'
    | 'synchronous_mode'
    | 'synchronous_node_count'
    | 'synchronous_mode_strict'
  >,
): HaConfig {
  return {
    loopWaitMs: cfg.loop_wait * 1000,
    ttlMs: cfg.ttl * 1000,
    retryTimeoutMs: cfg.retry_timeout * 1000,
    maximumLagOnFailover: BigInt(cfg.maximum_lag_on_failover),
    primaryStartTimeoutMs: cfg.primary_start_timeout * 1000,
    primaryHangTimeoutMs: cfg.primary_hang_timeout * 1000,
    tags: cfg.tags,
    sync: { mode: cfg.synchronous_mode, count: cfg.synchronous_node_count, strict: cfg.synchronous_mode_strict },
  };
}
