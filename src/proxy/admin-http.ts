/**
 * The proxy's HTTP admin API: one read-only route, GET /nodes (the SHOW POOL_NODES rows), for
 * `pgwarden show nodes`. Plain node:http: no framework in the proxy's memory.
 */
import { createServer, type Server } from 'node:http';
import type { PoolNodeRow } from './pool-nodes.js';

export interface AdminHttp {
  close(): Promise<void>;
}

export function listenAdmin(rows: () => PoolNodeRow[], at: { host: string; port: number }): Promise<AdminHttp> {
  const server: Server = createServer((req, res) => {
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
