/** Free loopback ports: asks the kernel for one, so parallel runs never collide. */
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** `n` distinct free ports. */
/** n numbers: a fixed-length tuple when n is a literal, so destructuring needs no checks. */
export type Ports<N extends number, A extends number[] = []> = number extends N ? number[] : A['length'] extends N ? A : Ports<N, [...A, number]>;

export async function freePorts<N extends number>(n: N): Promise<Ports<N>> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports] as Ports<N>;
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
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return base;
  }
  throw new Error(`no free run of ${span} ports below 32000`);
}
