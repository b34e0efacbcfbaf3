/**
 * The bearer-token check every mutating call goes through (agent API, `pgwarden up` control).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** A fastify preHandler: 403 when no token is configured, 401 when the request's is missing or wrong. */
export function requireBearer(token: string | undefined, unset: string) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!token) return reply.code(403).send({ error: unset });
    const given = Buffer.from((req.headers.authorization ?? '').replace(/^Bearer /i, ''));
    const want = Buffer.from(token);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return reply.code(401).send({ error: 'missing or wrong bearer token' });
  };
}
