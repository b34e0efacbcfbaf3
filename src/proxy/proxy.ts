/**
 * The proxy: listeners for the read-write and read-only ports, routes rebuilt from the store
 * (leader, registrations, operator detaches; re-read on every watch event and every second) and
 * from its own health checks. When the leader changes, read-write sessions on the old primary are
 * closed at once (no write may reach a demoted or isolated primary through the proxy), read-only
 * sessions on the new one too (the read-only port stays read-only), and the new leader is probed
 * every few milliseconds until it answers as primary, so writes resume right after its promotion.
 * Every client connection counts against max_client_conn from its accept on.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { StateStore } from '../store/store.js';
import { emptySnapshot, type ClusterSnapshot } from '../store/types.js';
import { deadlineSignal } from '../util/deadline.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { BackendTls } from './backend-tls.js';
import { HealthChecker, type HealthCredentials } from './health.js';
import { errorResponse, resultSet } from './protocol/encode.js';
import { buildRoutes, Routes, type NodeRoute } from './routing.js';
import { POOL_NODES_COLUMNS, type PoolNodeRow } from './pool-nodes.js';
import { endWith, Session, type ClientTls, type Port, type RefusalReason, type SessionHost } from './session.js';

export interface ProxyOptions {
  readonly name: string;
  readonly store: StateStore;
  /** Deadline of one reload of the cluster state. */
  readonly storeTimeoutMs: number;
  /** Its view of the nodes is published at the latest this often (and within a second of a change); ttl/3 keeps its session. */
  readonly publishEveryMs: number;
  readonly listen: Readonly<Record<Port, { host: string; port: number }>>;
  readonly health: HealthCredentials;
  readonly healthIntervalMs: number;
  readonly healthTimeoutMs: number;
  readonly maxLagBytes: number;
  readonly weights: Readonly<Record<string, number>>;
  readonly failoverWaitMs: number;
  readonly maxMessageLength: number;
  readonly loginTimeoutMs: number;
  readonly maxClientConn: number;
  /** 0: no limit per address. */
  readonly maxClientConnPerAddress: number;
  readonly roFallbackToPrimary: boolean;
  readonly roAffinityMs: number;
  /** application_names whose read-only sessions keep their standby (`*`: all). */
  readonly roAffinityApplications: readonly string[];
  /** Answer SSLRequest with TLS (null: refuse it). */
  readonly tls: ClientTls | null;
  /** TLS to PostgreSQL (null: plain). */
  readonly backendTls: BackendTls | null;
  readonly log: Logger;
  /** Told of refusals and waits for a primary (GET /metrics); optional. */
  readonly monitor?: ProxyMonitor | undefined;
}

/** What the proxy reports as it goes. */
export interface ProxyMonitor {
  refused(reason: RefusalReason): void;
  /** A read-write session waited `ms` for a primary (a failover), and got one or not. */
  waitedForPrimary(ms: number): void;
}

/** How often the new leader is probed until it answers as primary, and for how long at most. */
const HURRY_INTERVAL_MS = 10;
const HURRY_MAX_MS = 10_000;
/** A full store reload at least this often even while the watch is live. */
const RELOAD_SAFETY_MS = 10_000;

export class Proxy implements SessionHost {
  readonly log: Logger;
  readonly maxMessageLength: number;
  readonly loginTimeoutMs: number;
  readonly connectTimeoutMs = 5000;
  readonly failoverWaitMs: number;
  readonly tls: ClientTls | null;
  readonly backendTls: BackendTls | null;
  private snap: ClusterSnapshot = emptySnapshot();
  private current: Routes = new Routes([], null, []);
  /** Every client connection, from its accept on. */
  private readonly sessions = new Set<Session>();
  private readonly perAddress = new Map<string, number>();
  /** ro_affinity: the standby each read-only client last used, and when. */
  private readonly affinity = new Map<string, { node: string; at: number }>();
  private refused = { count: 0, loggedAt: 0 };
  private leader: string | null = null;
  private readonly counts = new Map<string, number>();
  /** Bytes relayed by sessions that ended, by backend. */
  private readonly endedBytes = new Map<string, { bytesIn: number; bytesOut: number }>();
  private readonly waiters = new Set<() => void>();
  private readonly servers: Server[] = [];
  private readonly health: HealthChecker;
  private readonly abort = new AbortController();
  private reloader: NodeJS.Timeout | null = null;
  /** The store's watch is live: it brings every change the routes depend on (store contract). */
  private watchLive = false;
  private reloadedAt = 0;
  private published = { view: '', at: 0 };
  private publishing = false;

  constructor(private readonly o: ProxyOptions) {
    this.log = o.log;
    this.maxMessageLength = o.maxMessageLength;
    this.loginTimeoutMs = o.loginTimeoutMs;
    this.failoverWaitMs = o.failoverWaitMs;
    this.tls = o.tls;
    this.backendTls = o.backendTls;
    this.health = new HealthChecker(
      o.health,
      o.backendTls,
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
    this.reloader = setInterval(() => {
      // Each second while the watch is not live; otherwise only as a safety net: a full reload
      // reads and validates every key, member statuses included, one etcd range per proxy.
      if (!this.watchLive || performance.now() - this.reloadedAt >= RELOAD_SAFETY_MS) void this.reload();
      void this.publish();
      this.forgetAffinities();
    }, 1000);
    void this.watch();
    for (const port of ['rw', 'ro'] as const) {
      const server = createServer({ pauseOnConnect: true }, (socket) => this.accept(port, socket));
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

  /** A new client connection: a session, or PostgreSQL's "too many clients" error past the limits. */
  private accept(port: Port, socket: Socket): void {
    const peer = socket.remoteAddress ?? 'unknown';
    const fromPeer = this.perAddress.get(peer) ?? 0;
    const { maxClientConn, maxClientConnPerAddress: perPeer } = this.o;
    const refusal =
      this.sessions.size >= maxClientConn
        ? `sorry, too many clients already (max_client_conn ${maxClientConn})`
        : perPeer > 0 && fromPeer >= perPeer
          ? `sorry, too many connections from ${peer} (max_client_conn_per_address ${perPeer})`
          : null;
    if (refusal) {
      this.refusedFor(this.sessions.size >= maxClientConn ? 'max_client_conn' : 'max_client_conn_per_address');
      endWith(socket, errorResponse('53300', `pgwarden: ${refusal}`));
      // One line per 10 s at most: a flood must not flood the log too.
      this.refused.count++;
      if (Date.now() - this.refused.loggedAt >= 10_000) {
        this.log.warn({ client: peer, refused: this.refused.count, reason: refusal }, 'client connections refused');
        this.refused = { count: 0, loggedAt: Date.now() };
      }
      return;
    }
    const session = new Session(port, socket, this, peer);
    this.sessions.add(session);
    this.perAddress.set(peer, fromPeer + 1);
    session.start();
  }

  // --- SessionHost ---

  async pick(session: Session): Promise<NodeRoute | null> {
    if (session.port === 'ro') return this.pickReader(session);
    if (this.current.primary) return this.current.primary;
    // Hold a new read-write connection through a failover rather than refusing it.
    const since = performance.now();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
        this.o.monitor?.waitedForPrimary(performance.now() - since);
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

  closed(s: Session): void {
    if (!this.sessions.delete(s)) return;
    if (s.node) {
      const t = this.endedBytes.get(s.node.name) ?? { bytesIn: 0, bytesOut: 0 };
      this.endedBytes.set(s.node.name, { bytesIn: t.bytesIn + s.bytesIn, bytesOut: t.bytesOut + s.bytesOut });
    }
    const left = (this.perAddress.get(s.peer) ?? 1) - 1;
    if (left > 0) this.perAddress.set(s.peer, left);
    else this.perAddress.delete(s.peer);
    const kept = this.affinity.get(s.affinity);
    if (kept && kept.node === s.node?.name) kept.at = Date.now();
  }

  /**
   * A standby for a read-only session: by weight; for an application of ro_affinity_applications,
   * the one its client (address, user, database, application name) has a session on, or had one
   * on less than ro_affinity ago, while it still serves reads.
   */
  private pickReader(session: Session): NodeRoute | null {
    const apps = this.o.roAffinityApplications;
    if (this.o.roAffinityMs === 0 || !(apps.includes('*') || apps.includes(session.application))) {
      return this.current.pickReader(Math.random(), this.o.roFallbackToPrimary);
    }
    const kept = this.affinity.get(session.affinity);
    const alive = kept && (Date.now() - kept.at < this.o.roAffinityMs || this.hasSession(session.affinity, kept.node));
    const node = (alive ? this.current.reader(kept.node) : null) ?? this.current.pickReader(Math.random(), this.o.roFallbackToPrimary);
    if (node) this.affinity.set(session.affinity, { node: node.name, at: Date.now() });
    return node;
  }

  private forgetAffinities(): void {
    const now = Date.now();
    for (const [key, kept] of this.affinity) {
      if (now - kept.at >= this.o.roAffinityMs && !this.hasSession(key)) this.affinity.delete(key);
    }
  }

  /** Whether a client (affinity key) has a session open, on `node` when given. */
  private hasSession(affinity: string, node?: string): boolean {
    for (const s of this.sessions) if (s.affinity === affinity && (node === undefined || s.node?.name === node)) return true;
    return false;
  }

  counted(node: string, n: number): void {
    this.counts.set(node, (this.counts.get(node) ?? 0) + n);
  }

  refusedFor(reason: RefusalReason): void {
    this.o.monitor?.refused(reason);
  }

  /** Live sessions (port, backend, bytes both ways) and the bytes of ended ones by backend, for GET /metrics. */
  traffic(): { live: { port: Port; backend: string | null; bytesIn: number; bytesOut: number }[]; ended: ReadonlyMap<string, { bytesIn: number; bytesOut: number }> } {
    return { live: [...this.sessions].map((s) => ({ port: s.port, backend: s.node?.name ?? null, bytesIn: s.bytesIn, bytesOut: s.bytesOut })), ended: this.endedBytes };
  }

  // --- routing ---

  private rebuild(): void {
    this.current = buildRoutes(this.snap, this.health.health(), { maxLagBytes: this.o.maxLagBytes, weights: this.o.weights });
    const leader = this.snap.leader?.name ?? null;
    const draining = this.current.draining?.name ?? null;
    const role = (name: string) => this.health.health().get(name)?.role;
    for (const s of this.sessions) {
      if (!s.node) continue;
      if (s.port === 'ro') {
        // A standby promoted under read-only sessions: they end before anything can write.
        if (s.node.role !== 'primary' && (s.node.name === leader || role(s.node.name) === 'primary')) {
          s.close({ sqlstate: '57P01', message: `pgwarden: terminating connection: ${s.node.name} became the primary; the read-only port serves standbys only` });
        }
        // Fencing: the session's primary lost the lock, or answers as a standby now.
      } else if (s.node.name !== leader || role(s.node.name) === 'standby') {
        s.close({ sqlstate: '57P01', message: `pgwarden: terminating connection: ${s.node.name} is no longer the primary` });
      } else if (s.node.name === draining) {
        s.drain();
      }
    }
    for (const w of [...this.waiters]) w();
    if (leader !== this.leader) {
      this.leader = leader;
      if (leader !== null && !this.current.primary)
        void this.health.hurry(() => this.snap.leader?.name !== leader || this.current.primary !== null, HURRY_INTERVAL_MS, HURRY_MAX_MS);
    }
  }

  /** Tells the cluster (GET /cluster, the dashboard) how this proxy routes to each node. */
  private async publish(): Promise<void> {
    const nodes = this.current.nodes.map((n) => ({ name: n.name, status: n.status }));
    const view = JSON.stringify(nodes);
    if (this.publishing || (view === this.published.view && Date.now() - this.published.at < this.o.publishEveryMs)) return;
    this.publishing = true;
    try {
      await this.o.store.putProxy({ name: this.o.name, nodes, updated_at_ms: Date.now() }, deadlineSignal(this.o.storeTimeoutMs));
      this.published = { view, at: Date.now() };
    } catch (err) {
      this.log.debug({ err: errorMessage(err) }, 'proxy: cannot publish its view of the nodes');
    } finally {
      this.publishing = false;
    }
  }

  private async reload(): Promise<void> {
    try {
      const snap = await this.o.store.load(deadlineSignal(this.o.storeTimeoutMs));
      this.reloadedAt = performance.now();
      const changed = snap.revision !== this.snap.revision;
      this.snap = snap;
      if (changed) this.rebuild();
    } catch (err) {
      // Keep the last routes: the health checks still see which node answers as primary. What
      // the watch announced is not read yet: reload each second until a reload succeeds.
      this.reloadedAt = -Infinity;
      this.log.debug({ err: errorMessage(err) }, 'proxy: store unavailable');
    }
  }

  private async watch(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        for await (const c of this.o.store.watch(this.abort.signal)) {
          this.watchLive = true; // anything it yields, its first WATCH_LIVE included, says it is
          if (c.kind !== 'member' && c.kind !== 'event' && c.kind !== 'proxy') await this.reload();
        }
      } catch {
        // reopened below
      }
      this.watchLive = false;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
