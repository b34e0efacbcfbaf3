/**
 * The agent's part of `pgwarden check consistency` (every route needs the bearer token): the
 * primary lists what to check and holds a table under a SHARE lock, digesting it while the standbys
 * digest it after replaying the position taken under that lock. The CLI drives the steps and
 * talks only to the API endpoints its own configuration names.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import { errorMessage } from '../util/errors.js';

export interface Digest {
  readonly rows: number;
  readonly hash: string;
}

/** What the local instance offers the check (PgController.consistency()). */
export interface ConsistencySql {
  listDatabases(): Promise<string[]>;
  listTables(database: string): Promise<string[]>;
  holdTable(database: string, table: string, holdMs: number): Promise<{ lsn: string; digest(): Promise<Digest>; release(): Promise<void> } | null>;
  digestAfter(database: string, table: string, lsn: string, waitMs: number): Promise<Digest | null>;
}

/** At most this many tables held at once, each for at most MAX_HOLD_S: an open lock is never left behind. */
const MAX_HOLDS = 16;
const MAX_HOLD_S = 600;
const NAME = /^[^\0]{1,200}$/;
const LSN = /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/;

export function consistencyRoutes(app: FastifyInstance, sql: () => ConsistencySql, auth: preHandlerAsyncHookHandler, isLeader: () => boolean): void {
  const holds = new Map<string, { digest(): Promise<Digest>; release(): Promise<void> }>();
  const failed = (err: unknown) => ({ error: errorMessage(err) });

  app.get('/consistency/tables', { preHandler: auth }, async (_req, reply) => {
    if (!isLeader()) return reply.code(409).send({ error: 'not the leader: ask the primary for the tables' });
    try {
      const s = sql();
      const out: Record<string, string[]> = {};
      for (const db of await s.listDatabases()) out[db] = await s.listTables(db);
      return { databases: out };
    } catch (err) {
      return reply.code(503).send(failed(err));
    }
  });

  app.post<{ Body: { database?: unknown; table?: unknown; hold_s?: unknown } | null }>('/consistency/hold', { preHandler: auth }, async (req, reply) => {
    const { database, table, hold_s: holdS } = req.body ?? {};
    if (typeof database !== 'string' || !NAME.test(database) || typeof table !== 'string' || !NAME.test(table)) return reply.code(400).send({ error: 'database and table: names' });
    if (typeof holdS !== 'number' || !(holdS > 0 && holdS <= MAX_HOLD_S)) return reply.code(400).send({ error: `hold_s: seconds, at most ${MAX_HOLD_S}` });
    if (!isLeader()) return reply.code(409).send({ error: 'not the leader: only the primary holds a table' });
    if (holds.size >= MAX_HOLDS) return reply.code(429).send({ error: `${MAX_HOLDS} tables are held already` });
    try {
      const held = await sql().holdTable(database, table, holdS * 1000);
      if (!held) return reply.code(404).send({ error: `no table ${table} in ${database} on the primary` });
      const id = randomUUID();
      holds.set(id, held);
      setTimeout(() => holds.delete(id), holdS * 1000).unref();
      return { hold: id, lsn: held.lsn };
    } catch (err) {
      return reply.code(503).send(failed(err));
    }
  });

  app.post<{ Params: { id: string } }>('/consistency/hold/:id/digest', { preHandler: auth }, async (req, reply) => {
    const held = holds.get(req.params.id);
    if (!held) return reply.code(404).send({ error: 'no such hold (released or expired)' });
    try {
      const d = await held.digest();
      return { rows: d.rows, hash: d.hash };
    } catch (err) {
      return reply.code(503).send(failed(err));
    }
  });

  app.delete<{ Params: { id: string } }>('/consistency/hold/:id', { preHandler: auth }, async (req) => {
    const held = holds.get(req.params.id);
    holds.delete(req.params.id);
    await held?.release();
    return { released: held !== undefined };
  });

  app.post<{ Body: { database?: unknown; table?: unknown; lsn?: unknown; wait_s?: unknown } | null }>('/consistency/digest', { preHandler: auth }, async (req, reply) => {
    const { database, table, lsn, wait_s: waitS } = req.body ?? {};
    if (typeof database !== 'string' || !NAME.test(database) || typeof table !== 'string' || !NAME.test(table)) return reply.code(400).send({ error: 'database and table: names' });
    if (typeof lsn !== 'string' || !LSN.test(lsn)) return reply.code(400).send({ error: 'lsn: a WAL position such as 0/3000060' });
    if (typeof waitS !== 'number' || !(waitS > 0 && waitS <= MAX_HOLD_S)) return reply.code(400).send({ error: `wait_s: seconds, at most ${MAX_HOLD_S}` });
    try {
      const d = await sql().digestAfter(database, table, lsn, waitS * 1000);
      return d ? { rows: d.rows, hash: d.hash } : reply.code(404).send({ error: `no table ${table} in ${database} here` });
    } catch (err) {
      return reply.code(503).send(failed(err));
    }
  });
}
