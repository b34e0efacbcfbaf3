/**
 * GET /ui: the live dashboard. Three static files (no build chain, nothing from a CDN) and one
 * server-sent event stream fed by a ClusterFeed. Operator actions on the page call the same
 * token-protected API as the CLI; the page itself needs no token to watch.
 */
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { ClusterFeed } from './cluster-feed.js';

const FILES = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
} as const;
type FileName = keyof typeof FILES;

/** Streams per client address (tabs of one operator), on top of the feed's total bound. */
const STREAMS_PER_ADDRESS = 8;
/** A page that does not read its stream is dropped before its backlog grows past this. */
const MAX_BACKLOG_BYTES = 1 << 20;
const HEARTBEAT_MS = 15_000;

const HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export function uiRoutes(app: FastifyInstance, feed: ClusterFeed): void {
  const dir = new URL('./ui/', import.meta.url);
  const files = new Map((Object.keys(FILES) as FileName[]).map((f) => [f, readFileSync(new URL(f, dir))]));
  const perAddress = new Map<string, number>();

  app.get<{ Params: { file?: string } }>('/ui/:file?', (req, reply) => {
    const name = (req.params.file || 'index.html') as FileName;
    const body = files.get(name);
    if (!body) return reply.code(404).send({ error: `no ${name} in the dashboard` });
    return reply.headers(HEADERS).type(FILES[name]).send(body);
  });

  const streams = new Set<ServerResponse>();
  app.get('/ui/stream', (req, reply) => {
    const addr = req.socket.remoteAddress ?? '';
    if ((perAddress.get(addr) ?? 0) >= STREAMS_PER_ADDRESS) return reply.code(429).send({ error: `at most ${STREAMS_PER_ADDRESS} dashboard streams per address` });
    if (!feed.hasRoom()) return reply.code(503).send({ error: 'too many dashboard streams on this agent' });
    perAddress.set(addr, (perAddress.get(addr) ?? 0) + 1);
    reply.hijack();
    const res = reply.raw;
    streams.add(res);
    res.writeHead(200, { ...HEADERS, 'content-type': 'text/event-stream', connection: 'keep-alive' });
    // The browser reconnects a second after the agent restarts; comments keep idle proxies open.
    res.write('retry: 1000\n\n');
    const unsubscribe = feed.subscribe((frame) => {
      if (res.writableLength > MAX_BACKLOG_BYTES) res.destroy();
      else res.write(`data: ${frame}\n\n`);
    });
    const heartbeat = setInterval(() => res.write(': alive\n\n'), HEARTBEAT_MS);
    res.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(res);
      const n = (perAddress.get(addr) ?? 1) - 1;
      if (n === 0) perAddress.delete(addr);
      else perAddress.set(addr, n);
    });
  });
  // Open streams would hold the server's close until the browsers go.
  app.addHook('preClose', async () => {
    feed.close();
    for (const res of streams) res.destroy();
  });
}
