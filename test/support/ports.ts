/**
 * Free loopback ports for tests. Picked below the kernel's ephemeral range (32768+): a port the
 * kernel handed to `listen(0)` and that was closed again can be taken meanwhile as the local port
 * of any outgoing connection (health checks, etcd clients), and then the process meant to listen
 * on it fails with EADDRINUSE. No port is handed out twice by one test process.
 */
import { createServer } from 'node:net';

const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * 22_000);
    if (handedOut.has(port) || !(await isFree(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no free port between 10000 and 32000');
}

/** n numbers: a fixed-length tuple when n is a literal, so destructuring needs no checks. */
export type Ports<N extends number, A extends number[] = []> = number extends N ? number[] : A['length'] extends N ? A : Ports<N, [...A, number]>;

/** `n` distinct free ports. */
export async function freePorts<N extends number>(n: N): Promise<Ports<N>> {
  const ports: number[] = [];
  while (ports.length < n) ports.push(await freePort());
  return ports as Ports<N>;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A base for `pgwarden up --port-base`: ports base+1 .. base+span must all be free. Picked below
 * the kernel's ephemeral range (32768+), where outgoing connections could take one meanwhile.
 */
export async function freePortBase(span: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 15000 + Math.floor(Math.random() * (32000 - span - 15000));
    const ports = Array.from({ length: span }, (_, i) => base + i + 1);
    if (ports.some((p) => handedOut.has(p)) || !(await Promise.all(ports.map(isFree))).every(Boolean)) continue;
    for (const p of ports) handedOut.add(p);
    return base;
  }
  throw new Error(`no free run of ${span} ports below 32000`);
}
