/**
 * The proxy's HTTP admin API, read-only: GET /nodes (the SHOW POOL_NODES rows, for `pgwarden show
 * nodes`) and GET /metrics (Prometheus). Plain node:http: no framework in the proxy's memory.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { PoolNodeRow } from './pool-nodes.js';

export interface AdminHttp {
  close(): Promise<void>;
}

export function listenAdmin(rows: () => PoolNodeRow[], metrics: Registry, at: { host: string; port: number }): Promise<AdminHttp> {
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      void metrics.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.contentType });
          res.end(text);
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
      return;
    }
    const found = req.method === 'GET' && req.url === '/nodes';
    res.writeHead(found ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(found ? rows() : { error: `no route ${req.method} ${req.url}` }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve({
        async close() {
          const closed = new Promise((r) => server.close(r));
          server.closeAllConnections();
          await closed;
        },
      });
    });
  });
}
