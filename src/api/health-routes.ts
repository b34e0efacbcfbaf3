/**
 * Health checks with Patroni's paths and status codes (200 when the node is what the path asks,
 * 503 otherwise), for GET (with the node's status as JSON), HEAD and OPTIONS (code only): an
 * HAProxy configuration written for Patroni (`option httpchk OPTIONS /master`) works unchanged.
 * Each answer asks PostgreSQL now, not a cycle ago: a standby that just started streaming is a
 * replica at once.
 */
import type { FastifyInstance } from 'fastify';
import type { Agent } from '../ha/agent.js';
import { nodeReportJson, type NodeReport } from '../client/node-report.js';
import { lagBytes } from '../util/lsn.js';

/** Patroni's lag values: bytes, or a number with kB, MB, GB or TB (1024-based, as PostgreSQL's units). */
export function parseLag(text: string): bigint | null {
  const m = /^\s*(\d+)\s*(B|kB|MB|GB|TB)?\s*$/.exec(text);
  if (!m) return null;
  const unit = { B: 0n, kB: 10n, MB: 20n, GB: 30n, TB: 40n }[(m[2] ?? 'B') as 'B'];
  return BigInt(m[1]!) << unit;
}

interface Ask {
  readonly query: Record<string, string>;
  readonly agent: Agent;
  readonly r: NodeReport;
  /** maximum_lag_on_failover: /readiness's default lag. */
  readonly maxLag: bigint;
}

const isPrimary = ({ agent, r }: Ask) => agent.status().isLeader && r.running && r.role === 'primary';

/** How far this standby is behind the leader's last published position; null when unknown. */
function lagOf({ agent, r }: Ask): bigint | null {
  const snap = agent.status().view?.cluster;
  if (snap?.kind !== 'snapshot' || !snap.leader || r.lsn === null) return null;
  const leaderLsn = snap.members.get(snap.leader.name)?.lsn ?? null;
  return leaderLsn === null ? null : lagBytes(leaderLsn, r.lsn);
}

/** ?lag=: within it (an unparsable limit or an unknown lag fails the check). */
function withinLag(a: Ask, limit: bigint | undefined): boolean {
  if (limit === undefined) return true;
  const lag = lagOf(a);
  return lag !== null && lag <= limit;
}

function queryLag(a: Ask): bigint | undefined | null {
  return a.query.lag === undefined ? undefined : parseLag(a.query.lag);
}

/** A running, streaming standby that takes reads (not tagged noloadbalance), within ?lag and matching ?tag_key=value. */
function isReplica(a: Ask): boolean {
  const { r } = a;
  if (!(r.running && r.role === 'standby' && r.streaming && !r.tags?.noloadbalance)) return false;
  const limit = queryLag(a);
  if (limit === null || !withinLag(a, limit)) return false;
  const tags = (r.tags ?? {}) as Record<string, unknown>;
  return Object.entries(a.query).every(([k, v]) => !k.startsWith('tag_') || String(tags[k.slice(4)]) === v);
}

function inSyncSet({ agent, r }: Ask): boolean {
  const snap = agent.status().view?.cluster;
  if (snap?.kind !== 'snapshot') return false;
  const sync = snap.sync?.value;
  return sync !== undefined && sync.leader === snap.leader?.name && sync.members.includes(r.name);
}

const standby = (a: Ask) => a.r.running && a.r.role === 'standby' && a.r.streaming;

const CHECKS: ReadonlyArray<readonly [paths: readonly string[], ok: (a: Ask) => boolean]> = [
  [['/', '/primary', '/master', '/read-write'], isPrimary],
  [['/leader'], ({ agent }) => agent.status().isLeader],
  [['/replica', '/standby'], isReplica],
  [['/read-only'], (a) => isPrimary(a) || isReplica(a)],
  [['/sync', '/synchronous'], (a) => standby(a) && inSyncSet(a)],
  [['/read-only-sync'], (a) => isPrimary(a) || (standby(a) && inSyncSet(a))],
  [
    ['/async', '/asynchronous'],
    (a) => {
      const limit = queryLag(a);
      return standby(a) && !inSyncSet(a) && limit !== null && withinLag(a, limit);
    },
  ],
  [['/health'], ({ r }) => r.running],
  [
    ['/readiness'],
    (a) => {
      const limit = a.query.lag === undefined ? a.maxLag : parseLag(a.query.lag);
      return isPrimary(a) || (standby(a) && limit !== null && withinLag(a, limit));
    },
  ],
];

export function healthRoutes(app: FastifyInstance, agent: Agent, maxLag: bigint, ttlMs: number): void {
  for (const [paths, ok] of CHECKS) {
    for (const url of paths) {
      app.route<{ Querystring: Record<string, string> }>({
        method: ['GET', 'OPTIONS'],
        url,
        handler: async (req, reply) => {
          const r = await agent.report();
          const code = ok({ query: req.query, agent, r, maxLag }) ? 200 : 503;
          // HEAD is fastify's, from GET: the same code, no body.
          return req.method === 'OPTIONS' ? reply.code(code).send() : reply.code(code).send({ ...nodeReportJson(r), leader: agent.status().isLeader });
        },
      });
    }
  }
  // The HA loop itself, without asking PostgreSQL: its last cycle within ttl (the leader) or 2 × ttl.
  app.route({
    method: ['GET', 'OPTIONS'],
    url: '/liveness',
    handler: async (_req, reply) => {
      const age = agent.sinceLastCycleMs();
      const limit = agent.status().isLeader ? ttlMs : 2 * ttlMs;
      return reply.code(age !== null && age <= limit ? 200 : 503).send();
    },
  });
}
