/**
 * The access check every mutating call goes through (agent API, `pgwarden up` control): the
 * caller's address must be in the allowlist when one is set, and the request must carry exactly
 * `Authorization: Bearer <token>`. Tokens are compared as SHA-256 digests, in constant time, so
 * neither the comparison's time nor a length check tells anything about the token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { BlockList } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { allowed } from '../util/cidr.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The scheme (case-insensitive, as every HTTP auth scheme), one space, the token: nothing else. */
const BEARER = /^Bearer (\S+)$/i;

/**
 * A fastify preHandler: 403 when no token is configured or the caller is outside the allowlist,
 * 401 when the request's token is missing, malformed or wrong.
 */
export function requireBearer(token: string | undefined, unset: string, allowlist: BlockList | null = null) {
  const want = token ? digest(token) : null;
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!want) return reply.code(403).send({ error: unset });
    if (allowlist && !allowed(allowlist, req.socket.remoteAddress)) {
      return reply.code(403).send({ error: `${req.socket.remoteAddress ?? 'this address'} is not in api.allowlist` });
    }
    const given = BEARER.exec(req.headers.authorization ?? '')?.[1];
    if (!given || !timingSafeEqual(digest(given), want)) return reply.code(401).send({ error: 'missing or wrong bearer token (Authorization: Bearer <token>)' });
  };
}
