/**
 * The proxy: listeners for the read-write and read-only ports, routes rebuilt from the store
 * (leader, registrations, operator detaches; re-read on every watch event and every second) and
 * from its own health checks. When the leader changes, read-write sessions on the old primary are
 * closed at once: no write may reach a demoted or isolated primary through the proxy.
 */
import { createServer, type Server } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { StateStore } from '../store/store.js';
import { emptySnapshot, type ClusterSnapshot } from '../store/types.js';
import { deadlineSignal } from '../util/deadline.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { HealthChecker, type HealthCredentials } from './health.js';
import { resultSet } from './protocol/encode.js';
import { buildRoutes, Routes, type NodeRoute } from './routing.js';
import { POOL_NODES_COLUMNS, type PoolNodeRow } from './pool-nodes.js';
import { Session, type Port, type SessionHost } from './session.js';

export interface ProxyOptions {
  readonly name: string;
  readonly store: StateStore;
  /** Deadline of one reload of the cluster state. */
  readonly storeTimeoutMs: number;
  readonly listen: Readonly<Record<Port, { host: string; port: number }>>;
  readonly health: HealthCredentials;
  readonly healthIntervalMs: number;
  readonly healthTimeoutMs: number;
  readonly maxLagBytes: number;
  readonly weights: Readonly<Record<string, number>>;
  readonly failoverWaitMs: number;
  readonly maxMessageLength: number;
  /** Answer SSLRequest with TLS (null: refuse it). */
  readonly tls: SecureContext | null;
  readonly log: Logger;
}

export class Proxy implements SessionHost {
  readonly log: Logger;
  readonly maxMessageLength: number;
  readonly connectTimeoutMs = 5000;
  readonly failoverWaitMs: number;
  readonly tls: SecureContext | null;
  private snap: ClusterSnapshot = emptySnapshot();
  private current: Routes = new Routes([], null, []);
  private readonly sessions = new Set<Session>();
  private readonly counts = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private readonly servers: Server[] = [];
  private readonly health: HealthChecker;
  private readonly abort = new AbortController();
  private reloader: NodeJS.Timeout | null = null;

  constructor(private readonly o: ProxyOptions) {
    this.log = o.log;
    this.maxMessageLength = o.maxMessageLength;
    this.failoverWaitMs = o.failoverWaitMs;
    this.tls = o.tls;
    this.health = new HealthChecker(
      o.health,
      o.healthIntervalMs,
      o.healthTimeoutMs,
      () => [...this.snap.registry.values()],
      () => this.rebuild(),
    );
  }

  routes(): Routes {
    return this.current;
  }

  async start(): Promise<void> {
    await this.reload();
    await this.health.round();
    this.health.start();
    this.reloader = setInterval(() => void this.reload(), 1000);
    void this.watch();
    for (const port of ['rw', 'ro'] as const) {
      const server = createServer({ pauseOnConnect: true }, (socket) => new Session(port, socket, this).start());
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.o.listen[port].port, this.o.listen[port].host, () => resolve());
      });
      server.on('error', (err) => this.log.error({ err: errorMessage(err) }, 'listener error'));
      this.servers.push(server);
    }
    this.log.info({ rw: this.o.listen.rw, ro: this.o.listen.ro }, 'proxy listening');
  }

  async stop(): Promise<void> {
    this.abort.abort();
    if (this.reloader) clearInterval(this.reloader);
    for (const s of this.sessions) s.close();
    await Promise.all(this.servers.map((s) => new Promise((r) => s.close(r))));
    await this.health.stop();
    for (const w of this.waiters) w();
  }

  // --- SessionHost ---

  async pick(port: Port): Promise<NodeRoute | null> {
    if (port === 'ro') return this.current.pickReader(Math.random());
    if (this.current.primary) return this.current.primary;
    // Hold a new read-write connection through a failover rather than refusing it.
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(this.current.primary);
      };
      const check = () => {
        if (this.current.primary || this.abort.signal.aborted) finish();
      };
      const timer = setTimeout(finish, this.o.failoverWaitMs);
      this.waiters.add(check);
    });
  }

  async recheck(): Promise<void> {
    await this.health.round().catch(() => {});
  }

  poolNodes(session: Session | null): Buffer {
    return resultSet(
      POOL_NODES_COLUMNS,
      this.poolNodeRows(session).map((r) => POOL_NODES_COLUMNS.map((c) => (r[c] === null ? null : String(r[c])))),
    );
  }

  poolNodeRows(session: Session | null): PoolNodeRow[] {
    return this.current.nodes.map((n) => ({
      node_id: n.id,
      hostname: n.host,
      port: n.port,
      status: n.status,
      lb_weight: n.weight,
      role: n.role,
      select_cnt: this.counts.get(n.name) ?? 0,
      load_balance_node: session?.node?.name === n.name,
      replication_delay: n.lagBytes,
    }));
  }

  cancelTarget(pid: number, secret: number): NodeRoute | undefined {
    const key = `${pid}:${secret}`;
    for (const s of this.sessions) if (s.cancelKey === key) return s.node ?? undefined;
    return undefined;
  }

  opened(s: Session): void {
    this.sessions.add(s);
  }

  closed(s: Session): void {
    this.sessions.delete(s);
  }

  counted(node: string, n: number): void {
    this.counts.set(node, (this.counts.get(node) ?? 0) + n);
  }

  // --- routing ---

  private rebuild(): void {
    this.current = buildRoutes(this.snap, this.health.health(), { maxLagBytes: this.o.maxLagBytes, weights: this.o.weights });
    const leader = this.snap.leader?.name ?? null;
    const draining = this.current.draining?.name ?? null;
    for (const s of this.sessions) {
      if (s.port !== 'rw' || !s.node) continue;
      // Fencing: the session's primary lost the lock, or answers as a standby now.
      if (s.node.name !== leader || this.health.health().get(s.node.name)?.role === 'standby') {
        s.close({ sqlstate: '57P01', message: `pgwarden: terminating connection: ${s.node.name} is no longer the primary` });
      } else if (s.node.name === draining) {
        s.drain();
      }
    }
    for (const w of [...this.waiters]) w();
  }

  private async reload(): Promise<void> {
    try {
      const snap = await this.o.store.load(deadlineSignal(this.o.storeTimeoutMs));
      const changed = snap.revision !== this.snap.revision;
      this.snap = snap;
      if (changed) this.rebuild();
    } catch (err) {
      // Keep the last routes: the health checks still see which node answers as primary.
      this.log.debug({ err: errorMessage(err) }, 'proxy: store unavailable');
    }
  }

  private async watch(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        for await (const c of this.o.store.watch(this.abort.signal)) if (c.kind !== 'member' && c.kind !== 'event') await this.reload();
      } catch {
        // reopened below
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
