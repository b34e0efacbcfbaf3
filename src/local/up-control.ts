/**
 * The control endpoint of a running `pgwarden up` (loopback only, bearer token): what the CLI asks
 * of the process that owns the local nodes, such as adding one. Refusals carry their HTTP status.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { requireBearer } from '../api/bearer.js';
import { errorMessage } from '../util/errors.js';

export interface UpNodes {
  addNode(name?: string): Promise<{ readonly name: string }>;
  dropNode(name: string, purge: boolean): Promise<void>;
}

export async function startUpControl(o: { port: number; token: string; nodes: UpNodes }): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 4096, connectionTimeout: 10_000 });
  const auth = requireBearer(o.token, 'no token');
  const statusOf = (err: unknown) => (typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500);

  app.post<{ Body: { name?: unknown } | null }>('/nodes', { preHandler: auth }, async (req, reply) => {
    const name = req.body?.name;
    if (name !== undefined && typeof name !== 'string') return reply.code(400).send({ error: 'name must be a string' });
    try {
      const node = await o.nodes.addNode(name);
      return reply.code(201).send({ name: node.name });
    } catch (err) {
      return reply.code(statusOf(err)).send({ error: errorMessage(err) });
    }
  });

  app.delete<{ Params: { name: string }; Querystring: { purge?: string } }>('/nodes/:name', { preHandler: auth }, async (req, reply) => {
    try {
      await o.nodes.dropNode(req.params.name, req.query.purge === '1');
      return reply.code(200).send({ dropped: req.params.name, purged: req.query.purge === '1' });
    } catch (err) {
      return reply.code(statusOf(err)).send({ error: errorMessage(err) });
    }
  });

  await app.listen({ host: '127.0.0.1', port: o.port });
  return app;
}
