/**
 * Pure: where connections go. Built from the store snapshot (who holds the leader lock, who is
 * registered, what the operator detached) and the proxy's own health checks, rebuilt on every
 * change. A node's status is derived, never remembered: a standby that is healthy and streaming
 * again is `up` again by itself (the pgpool `pcp_attach_node` trap cannot happen); only an
 * operator's detach, stored for every proxy, keeps a healthy node out.
 */
import type { ClusterSnapshot } from '../store/types.js';

export type NodeStatus = 'up' | 'down' | 'detached';

export interface Health {
  readonly ok: boolean;
  readonly role: 'primary' | 'standby' | null;
  /** A standby's WAL receiver streams. */
  readonly streaming: boolean;
  /** Bytes the standby's replay lags the primary; null when unknown. */
  readonly lagBytes: number | null;
}

export interface NodeRoute {
  readonly id: number;
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly status: NodeStatus;
  readonly role: 'primary' | 'standby' | 'unknown';
  readonly weight: number;
  readonly lagBytes: number | null;
  /** Serves the read-only port (false: lagging, down, detached, weight 0, or the primary). */
  readonly readable: boolean;
}

export interface RoutingOptions {
  readonly maxLagBytes: number;
  /** lb_weight per node name; default 1; `noloadbalance` tags make it 0. */
  readonly weights: Readonly<Record<string, number>>;
}

export class Routes {
  constructor(
    readonly nodes: readonly NodeRoute[],
    /** The node every new read-write connection goes to, or null while there is none (or it drains). */
    readonly primary: NodeRoute | null,
    private readonly readers: readonly NodeRoute[],
    /** The primary a switchover is draining: it gets no new sessions, its sessions end once idle. */
    readonly draining: NodeRoute | null = null,
  ) {}

  /**
   * A read-only target by weight; `r` in [0, 1) (the caller's randomness). With no standby that
   * qualifies: the primary when `fallback` allows it, else null.
   */
  pickReader(r: number, fallback: boolean): NodeRoute | null {
    const total = this.readers.reduce((s, n) => s + n.weight, 0);
    if (total === 0) return fallback ? this.primary : null;
    let x = r * total;
    for (const n of this.readers) {
      x -= n.weight;
      if (x < 0) return n;
    }
    // Rounding can leave x at 0 after the last reader: it is the one.
    return this.readers.at(-1)!;
  }

  /** The standby `name` while it serves reads, else null. */
  reader(name: string): NodeRoute | null {
    return this.readers.find((n) => n.name === name) ?? null;
  }
}

export function buildRoutes(snap: ClusterSnapshot, health: ReadonlyMap<string, Health>, opts: RoutingOptions): Routes {
  const leader = snap.leader?.name ?? null;
  const nodes = [...snap.registry.values()]
    .sort((a, b) => a.id - b.id)
    .map((reg): NodeRoute => {
      const h = health.get(reg.name);
      const detached = snap.admin.get(reg.name)?.detached === true;
      const healthy = h?.ok === true && (h.role === 'primary' ? reg.name === leader : h.role === 'standby');
      const status: NodeStatus = detached ? 'detached' : healthy ? 'up' : 'down';
      const weight = reg.tags.noloadbalance ? 0 : (opts.weights[reg.name] ?? 1);
      const lag = h?.lagBytes ?? null;
      const readable = status === 'up' && h?.role === 'standby' && h.streaming && lag !== null && lag <= opts.maxLagBytes && weight > 0;
      return { id: reg.id, name: reg.name, host: reg.host, port: reg.port, status, role: h?.role ?? 'unknown', weight, lagBytes: lag, readable };
    });
  // Writes go only to the lock holder, and only while it answers as a primary: never to a node
  // that merely claims to be one.
  const primary = nodes.find((n) => n.name === leader && n.role === 'primary' && health.get(n.name)?.ok) ?? null;
  // The leader accepted a switchover: new read-write sessions wait for the next primary.
  const req = snap.failover?.value;
  const draining = primary && req?.kind === 'switchover' && req.from === primary.name && req.draining_since_ms !== undefined ? primary : null;
  return new Routes(
    nodes,
    draining ? null : primary,
    nodes.filter((n) => n.readable),
    draining,
  );
}
