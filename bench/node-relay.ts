/**
 * Two reference processes for bench:proxy, to tell what the proxy's design costs from what Node
 * itself costs:
 *   node dist/bench/node-relay.js relay LISTEN_PORT BACKEND_PORT
 *     the least any Node relay can do: bytes between a client and one backend through the proxy's
 *     own fast read path (fast-io.ts), with no parsing, routing, authentication or store: a ceiling
 *     for a Node proxy's TPS;
 *   node dist/bench/node-relay.js modules
 *     the third-party modules a `pgwarden proxy` process on etcd loads, with the same V8 flag, and
 *     nothing else: a floor for its RSS.
 * Each prints "ready" once it is.
 */
import { setFlagsFromString } from 'node:v8';
import { connect, createServer, type Socket } from 'node:net';
import { adoptAccepted, forward, onreadOption } from '../src/proxy/fast-io.js';

setFlagsFromString('--semi-space-growth-factor=1');
const [mode, listenPort, backendPort] = process.argv.slice(2);

if (mode === 'relay') {
  const server = createServer({ pauseOnConnect: true, noDelay: true }, (accepted) => {
    // Each sink runs only once bytes arrive, when both sockets exist.
    const backend: Socket = connect({ host: '127.0.0.1', port: Number(backendPort), noDelay: true, onread: onreadOption((view) => forward(backend, client, view)) });
    const client = adoptAccepted(accepted, (view) => forward(client, backend, view));
    const close = () => (client.destroy(), backend.destroy());
    for (const s of [client, backend]) s.on('error', close).on('close', close);
  });
  server.listen(Number(listenPort), '127.0.0.1', () => console.log('ready'));
} else if (mode === 'modules') {
  await Promise.all(['commander', 'yaml', 'zod', 'pino', 'pg', 'etcd3'].map((m) => import(m)));
  console.log('ready');
  setInterval(() => undefined, 1 << 30);
} else {
  console.error('usage: node-relay.js relay LISTEN_PORT BACKEND_PORT | modules');
  process.exit(2);
}
