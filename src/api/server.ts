/**
 * The agent's REST API (fastify). Health endpoints answer with status codes only, so an HAProxy
 * or load-balancer check can route on them: /primary is 200 only on the primary that holds the
 * lock, /replica only on a streaming standby. Every mutating call needs the bearer token.
 */
import type { BlockList } from 'node:net';
import type { Registry } from 'prom-client';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Agent } from '../ha/agent.js';
import { EVENT_LOG_LIMIT, type StateStore } from '../store/store.js';
import type { EventKind } from '../store/types.js';
import { deadlineSignal } from '../util/deadline.js';
import { errorMessage } from '../util/errors.js';
import { nodeReportJson } from '../client/node-report.js';
import { buildClusterReport, httpProber, probeAll, type Prober } from './cluster-view.js';
import { failoverPreview } from './failover-preview.js';
import { requireBearer } from './bearer.js';
import { healthRoutes } from './health-routes.js';
import type { HttpTls } from '../client/http.js';
import { consistencyRoutes, type ConsistencySql } from './consistency-routes.js';
import { ClusterFeed } from './cluster-feed.js';
import { uiRoutes } from './ui-routes.js';

const NODE_ACTIONS: ReadonlySet<string> = new Set(['detach', 'attach', 'remove', 'readmit']);

export interface ApiOptions {
  readonly agent: Agent;
  readonly store: StateStore;
  readonly authToken: string | undefined;
  /** Who may make mutating calls (api.allowlist); null: any address with the token. */
  readonly allowlist: BlockList | null;
  readonly timeoutMs: number;
  /** Drain timeout of a switchover request that names none. */
  readonly drainTimeoutS: number;
  /** The election's lag limit, for the failover preview (and /readiness). */
  readonly maximumLagOnFailover: bigint;
  /** The cluster's ttl, for /liveness. */
  readonly ttlMs: number;
  /** The local instance's side of the consistency check. */
  readonly consistency: () => ConsistencySql;
  /** api.tls: serve HTTPS (client certificates required with `requestCert`); null: HTTP. */
  readonly https: { cert: Buffer; key: Buffer; ca?: Buffer; requestCert: boolean } | null;
  /** How this agent reaches the others' APIs (their CA, its own certificate). */
  readonly peerTls: HttpTls | null;
  /** GET /metrics (Prometheus text format). */
  readonly metrics: Registry;
}

export function buildApi(o: ApiOptions): FastifyInstance {
  // The HTTPS server is the same fastify; its type differs only in the underlying server class.
  const app = (o.https ? Fastify({ logger: false, https: { ...o.https, rejectUnauthorized: o.https.requestCert } }) : Fastify({ logger: false })) as unknown as FastifyInstance;
  const remote = httpProber(Math.min(2000, o.timeoutMs), o.peerTls);
  const self = o.agent.status().name;
  // Our own row is read directly: the API must not depend on reaching itself over the network.
  const prober: Prober = (reg) => (reg.name === self ? o.agent.report().catch(() => null) : remote(reg));

  const requireToken = requireBearer(o.authToken, 'mutating calls are disabled on this node: set api.auth_token_file', o.allowlist);

  app.get('/status', async () => nodeReportJson(await o.agent.report()));
  app.get('/metrics', async (_req, reply) => reply.type(o.metrics.contentType).send(await o.metrics.metrics()));
  healthRoutes(app, o.agent, o.maximumLagOnFailover, o.ttlMs);

  app.get('/cluster', async (_req, reply) => {
    try {
      const snap = await o.store.load(deadlineSignal(o.timeoutMs));
      return await buildClusterReport(snap, prober);
    } catch (err) {
      return reply.code(503).send({ error: `cannot read the cluster state: ${errorMessage(err)}` });
    }
  });

  app.get<{ Querystring: { limit?: string; since?: string } }>('/events', async (req, reply) => {
    const since = req.query.since === undefined ? null : Date.parse(req.query.since);
    if (Number.isNaN(since)) return reply.code(400).send({ error: 'since: expected an ISO time, e.g. 2026-11-30T17:00:00Z' });
    try {
      const limit = Math.min(EVENT_LOG_LIMIT, Number(req.query.limit) || 100);
      // The newest `limit` of those at or after `since`: read the whole log, then cut.
      const events = await o.store.events(since === null ? limit : EVENT_LOG_LIMIT, deadlineSignal(o.timeoutMs));
      return since === null ? events : events.filter((e) => Date.parse(e.at) >= since).slice(-limit);
    } catch (err) {
      return reply.code(503).send({ error: errorMessage(err) });
    }
  });

  app.get('/decision', async () => {
    const st = o.agent.status();
    return { name: st.name, message: st.decision?.message ?? null, actions: st.decision?.actions.map((a) => a.type) ?? [], leader: st.isLeader };
  });

  app.post<{ Body: { to?: string; drain_timeout?: number } | null }>('/switchover', { preHandler: requireToken }, async (req, reply) => {
    const to = req.body?.to ?? null;
    const drain = req.body?.drain_timeout ?? o.drainTimeoutS;
    if (typeof drain !== 'number' || !(drain >= 0 && drain <= 3600)) return reply.code(400).send({ error: 'drain_timeout: seconds between 0 and 3600' });
    let snap;
    try {
      snap = await o.store.load(deadlineSignal(o.timeoutMs));
    } catch (err) {
      return reply.code(503).send({ error: `cannot read the cluster state: ${errorMessage(err)}` });
    }
    const leader = snap.leader?.name;
    if (!leader) return reply.code(409).send({ error: 'no node holds the leader lock; nothing to switch over from' });
    if (to !== null && to === leader) return reply.code(409).send({ error: `${to} is already the leader` });
    if (to !== null && !snap.registry.has(to)) return reply.code(404).send({ error: `${to} is not a member of the cluster` });
    const ok = await o.store.requestFailover({ kind: 'switchover', from: leader, to, requested_at_ms: Date.now(), drain_timeout_s: drain }, deadlineSignal(o.timeoutMs));
    if (!ok) return reply.code(409).send({ error: 'another switchover or failover is already pending' });
    return reply.code(202).send({ from: leader, to });
  });

  // A failover is for a cluster without a primary: the operator names the node to promote. The
  // automatic rules still apply unless `force` (the operator accepts the loss a dry run showed).
  app.post<{ Body: { to?: unknown; force?: unknown; dry_run?: unknown } | null }>('/failover', { preHandler: requireToken }, async (req, reply) => {
    const { to, force = false, dry_run: dryRun = false } = req.body ?? {};
    if (typeof to !== 'string' || to === '') return reply.code(400).send({ error: 'to: the name of the node to promote is required' });
    if (typeof force !== 'boolean' || typeof dryRun !== 'boolean') return reply.code(400).send({ error: 'force and dry_run: true or false' });
    let snap, live;
    try {
      snap = await o.store.load(deadlineSignal(o.timeoutMs));
      live = await probeAll(snap, prober);
    } catch (err) {
      return reply.code(503).send({ error: `cannot read the cluster state: ${errorMessage(err)}` });
    }
    if (snap.leader) return reply.code(409).send({ error: `${snap.leader.name} holds the leader lock: use switchover (failover is for a cluster without a primary)` });
    const reg = snap.registry.get(to);
    if (!reg) return reply.code(404).send({ error: `${to} is not a member of the cluster` });
    if (reg.tags.nofailover) return reply.code(409).send({ error: `${to} is tagged nofailover` });
    if (!live.get(to)?.running) return reply.code(409).send({ error: `${to} does not run PostgreSQL (or its agent does not answer)` });
    const preview = failoverPreview(snap, live, to, o.maximumLagOnFailover);
    if (dryRun) return preview;
    if (!force && preview.refused_because) return reply.code(409).send({ error: `${to} ${preview.refused_because}; a forced failover accepts that loss`, preview });
    const ok = await o.store.requestFailover({ kind: 'failover', from: null, to, requested_at_ms: Date.now(), force }, deadlineSignal(o.timeoutMs));
    if (!ok) return reply.code(409).send({ error: 'another switchover or failover is already pending' });
    await o.store
      .appendEvent(
        {
          at: new Date().toISOString(),
          node: to,
          kind: 'failover_requested',
          message: `${force ? 'forced ' : ''}failover to ${to} requested by an operator${preview.gap_bytes ? `; ${preview.gap_bytes} bytes of WAL beyond its position may be lost` : ''}`,
        },
        deadlineSignal(o.timeoutMs),
      )
      .catch(() => {});
    return reply.code(202).send({ to, force, preview });
  });

  // Pause/resume: no automatic failover, restart or rejoin while paused; every agent reads it from the store.
  const pauseRoute = (pause: boolean) => async (_req: FastifyRequest, reply: FastifyReply) => {
    try {
      await o.store.setPause(pause ? { at: new Date().toISOString() } : null, deadlineSignal(o.timeoutMs));
      const message = pause ? 'cluster paused by an operator: no automatic failover, restart or rejoin until resumed' : 'cluster resumed by an operator';
      await o.store
        .appendEvent({ at: new Date().toISOString(), node: o.agent.status().name, kind: pause ? 'paused' : 'resumed', message }, deadlineSignal(o.timeoutMs))
        .catch(() => {});
      return { paused: pause };
    } catch (err) {
      return reply.code(503).send({ error: errorMessage(err) });
    }
  };
  // A whole-cluster stop or start: a pause that tells every agent to stop (standbys first) or start (leader first).
  app.post<{ Params: { op: string } }>('/cluster/:op', { preHandler: requireToken }, async (req, reply) => {
    const op = req.params.op;
    if (op !== 'stop' && op !== 'start') return reply.code(404).send({ error: `unknown cluster operation ${op}: stop or start` });
    try {
      const at = new Date().toISOString();
      await o.store.setPause({ at, cluster: op }, deadlineSignal(o.timeoutMs));
      const message =
        op === 'stop'
          ? 'cluster stop requested by an operator: standbys stop first, the primary last'
          : 'cluster start requested by an operator: the leader first, then the standbys';
      await o.store
        .appendEvent({ at, node: o.agent.status().name, kind: op === 'stop' ? 'cluster_stopping' : 'cluster_starting', message }, deadlineSignal(o.timeoutMs))
        .catch(() => {});
      return { cluster: op };
    } catch (err) {
      return reply.code(503).send({ error: errorMessage(err) });
    }
  });
  app.post('/pause', { preHandler: requireToken }, pauseRoute(true));
  app.post('/resume', { preHandler: requireToken }, pauseRoute(false));

  // Detach/attach: the operator's choice, stored so that every proxy (and a restarted one) agrees.
  // Remove/readmit: the node leaves the cluster (registration gone, a tombstone keeps it out) or may come back.
  app.post<{ Params: { node: string; action: string } }>('/nodes/:node/:action', { preHandler: requireToken }, async (req, reply) => {
    const { node, action } = req.params;
    if (!NODE_ACTIONS.has(action)) return reply.code(404).send({ error: `unknown action ${action}: detach, attach, remove or readmit` });
    const at = new Date().toISOString();
    const event = (name: string, kind: EventKind, message: string) => o.store.appendEvent({ at, node: name, kind, message }, deadlineSignal(o.timeoutMs)).catch(() => {});
    try {
      const snap = await o.store.load(deadlineSignal(o.timeoutMs));
      if (action === 'readmit') {
        if (!snap.removed.has(node)) return reply.code(404).send({ error: `${node} was not removed` });
        await o.store.readmit(node, deadlineSignal(o.timeoutMs));
        await event(node, 'node_readmitted', `${node} readmitted by an operator: its agent registers again and rejoins`);
        return { node, readmitted: true };
      }
      const reg = [...snap.registry.values()].find((r) => r.name === node || String(r.id) === node);
      if (!reg) return reply.code(404).send({ error: snap.removed.has(node) ? `${node} is removed already` : `no node ${node} in the cluster` });
      if (action === 'remove') {
        if (snap.leader?.name === reg.name) return reply.code(409).send({ error: `${reg.name} holds the leader lock: switch over to another node first (pgwarden switchover)` });
        await o.store.unregister(reg.name, deadlineSignal(o.timeoutMs), { at });
        await event(reg.name, 'node_removed', `${reg.name} removed by an operator: its PostgreSQL stops and its replication slots are dropped everywhere`);
        return { node: reg.name, id: reg.id, removed: true };
      }
      await o.store.setAdmin(reg.name, action === 'detach' ? { detached: true, at } : null, deadlineSignal(o.timeoutMs));
      await event(reg.name, action === 'detach' ? 'node_detached' : 'node_attached', `${reg.name} ${action}ed by an operator`);
      return { node: reg.name, id: reg.id, detached: action === 'detach' };
    } catch (err) {
      return reply.code(503).send({ error: errorMessage(err) });
    }
  });

  // The data directory of a node removed from the cluster, deleted on the operator's request.
  app.post('/purge', { preHandler: requireToken }, async (_req, reply) => {
    try {
      return { purged: await o.agent.purgeRemoved() };
    } catch (err) {
      return reply.code(409).send({ error: errorMessage(err) });
    }
  });

  consistencyRoutes(app, o.consistency, requireToken, () => o.agent.status().isLeader);
  uiRoutes(app, new ClusterFeed({ store: o.store, prober, timeoutMs: o.timeoutMs, refreshMs: 1000, minGapMs: 250, events: 50, maxSubscribers: 32 }));

  return app;
}
