/**
 * The embedded store for `pgwarden up`: every agent of the cluster lives in one process and shares
 * one MemoryBackend; each agent gets its own MemoryStore handle (its session). Semantics follow
 * etcd's: one global revision, leases with a TTL on an injected Clock, compare-and-set, watches.
 * Expired leases are purged before every operation and by a periodic sweep, so a watcher sees the
 * leader key disappear within the sweep interval of its expiry, as etcd would report it.
 */
import { systemClock, type Clock } from '../util/clock.js';
import { StoreUnavailableError } from '../util/errors.js';
import { ChangeQueue } from './change-queue.js';
import { parseEvents, serialize, snapshotFromPairs } from './codec.js';
import { eventKey, keyKind, keys, type Keys } from './keys.js';
import { EVENT_LOG_LIMIT, WATCH_LIVE, type StateStore, type StoreChange } from './store.js';
import type {
  AdminState,
  ClusterEvent,
  ClusterSnapshot,
  FailoverRequest,
  MemberStatus,
  PauseState,
  PrimaryOptime,
  ProxyView,
  Registration,
  RemovedState,
  SyncState,
} from './types.js';

interface Entry {
  value: string;
  revision: number;
  lease: number | null;
}

export class MemoryBackend {
  private readonly data = new Map<string, Entry>();
  private readonly leases = new Map<number, number>(); // lease id -> expiry (monotonic ms)
  private readonly watchers = new Set<(c: StoreChange) => void>();
  private revision = 0;
  private nextLease = 1;
  private readonly sweeper: NodeJS.Timeout | null;
  readonly keys: Keys;

  constructor(
    readonly scope: string,
    readonly clock: Clock = systemClock,
    opts: { sweepIntervalMs?: number } = {},
  ) {
    this.keys = keys(scope);
    const every = opts.sweepIntervalMs ?? 100;
    this.sweeper = every > 0 ? setInterval(() => this.sweep(), every) : null;
    this.sweeper?.unref();
  }

  /** Deletes keys of expired leases and notifies watchers. Called before every operation. */
  sweep(): void {
    const now = this.clock.now();
    for (const [id, expiry] of this.leases) {
      if (now < expiry) continue;
      this.leases.delete(id);
      for (const [key, e] of this.data) if (e.lease === id) this.del(key);
    }
  }

  grant(ttlMs: number): number {
    const id = this.nextLease++;
    this.leases.set(id, this.clock.now() + ttlMs);
    return id;
  }

  /** Extends a lease; false when it already expired (its keys are gone). */
  keepalive(id: number, ttlMs: number): boolean {
    this.sweep();
    if (!this.leases.has(id)) return false;
    this.leases.set(id, this.clock.now() + ttlMs);
    return true;
  }

  revoke(id: number): void {
    this.leases.set(id, -Infinity);
    this.sweep();
  }

  get(key: string): Entry | undefined {
    this.sweep();
    return this.data.get(key);
  }

  put(key: string, value: string, lease: number | null = null): void {
    this.sweep();
    if (lease !== null && !this.leases.has(lease)) throw new StoreUnavailableError(`lease ${lease} expired`);
    this.revision++;
    this.data.set(key, { value, revision: this.revision, lease });
    this.notify(key);
  }

  del(key: string): boolean {
    if (!this.data.has(key)) return false;
    this.revision++;
    this.data.delete(key);
    this.notify(key);
    return true;
  }

  range(from: string, to: string): { pairs: { key: string; value: string; revision: number }[]; revision: number } {
    this.sweep();
    const pairs = [...this.data.entries()]
      .filter(([k]) => k >= from && k < to)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, e]) => ({ key, value: e.value, revision: e.revision }));
    return { pairs, revision: this.revision };
  }

  subscribe(fn: (c: StoreChange) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }

  private notify(key: string): void {
    const change: StoreChange = { kind: keyKind(this.keys, key), key, revision: this.revision };
    for (const w of this.watchers) w(change);
  }
}

/** One agent's handle on a MemoryBackend. */
export class MemoryStore implements StateStore {
  private lease: number | null = null;
  private eventSeq = 0;
  private partitioned = false;
  private readonly k: Keys;
  /** This handle's open watches, told to re-read when a partition heals (changes meanwhile were dropped). */
  private readonly watches = new Set<ChangeQueue<StoreChange>>();

  constructor(
    private readonly backend: MemoryBackend,
    private readonly ttlMs: number,
  ) {
    this.k = backend.keys;
  }

  /** Test and lab hook: make every call fail as if the store were unreachable from this handle. */
  setPartitioned(on: boolean): void {
    const healed = this.partitioned && !on;
    this.partitioned = on;
    if (healed) for (const q of this.watches) q.push(WATCH_LIVE);
  }

  async load(signal: AbortSignal): Promise<ClusterSnapshot> {
    this.check(signal);
    const { pairs, revision } = this.backend.range(this.k.root, this.k.snapshotEnd);
    return snapshotFromPairs(this.k, pairs, revision);
  }

  async acquireLeader(name: string, signal: AbortSignal): Promise<boolean> {
    this.check(signal);
    const lease = this.session();
    if (this.backend.get(this.k.leader)) return false;
    this.backend.put(this.k.leader, name, lease);
    return true;
  }

  async refreshLeader(name: string, signal: AbortSignal): Promise<boolean> {
    this.check(signal);
    const e = this.backend.get(this.k.leader);
    if (e === undefined || e.value !== name || e.lease === null) return false;
    // A restarted agent finds the key naming it on an older session: it adopts that session.
    this.lease = e.lease;
    return this.backend.keepalive(this.lease, this.ttlMs);
  }

  async releaseLeader(name: string, signal: AbortSignal, finalOptime?: PrimaryOptime): Promise<boolean> {
    this.check(signal);
    if (finalOptime) this.backend.put(this.k.optime, serialize.optime(finalOptime));
    const e = this.backend.get(this.k.leader);
    if (!e || e.value !== name) return false;
    return this.backend.del(this.k.leader);
  }

  async putMember(status: MemberStatus, signal: AbortSignal): Promise<void> {
    this.check(signal);
    if (this.backend.get(this.k.removed(status.name))) return;
    this.backend.put(this.k.member(status.name), serialize.member(status), this.session());
  }

  async putProxy(view: ProxyView, signal: AbortSignal): Promise<void> {
    this.check(signal);
    this.backend.put(this.k.proxy(view.name), serialize.proxy(view), this.session());
  }

  async register(reg: Registration, signal: AbortSignal): Promise<void> {
    this.check(signal);
    if (this.backend.get(this.k.removed(reg.name))) return;
    this.backend.put(this.k.registration(reg.name), serialize.registration(reg));
  }

  async unregister(name: string, signal: AbortSignal, tombstone?: RemovedState): Promise<void> {
    this.check(signal);
    for (const key of [this.k.registration(name), this.k.member(name), this.k.admin(name)]) this.backend.del(key);
    if (tombstone) this.backend.put(this.k.removed(name), serialize.removed(tombstone));
  }

  async readmit(name: string, signal: AbortSignal): Promise<void> {
    this.check(signal);
    this.backend.del(this.k.removed(name));
  }

  async initialize(sysid: string, signal: AbortSignal): Promise<boolean> {
    return this.createIfAbsent(this.k.initialize, sysid, signal);
  }

  async setOptime(optime: PrimaryOptime, signal: AbortSignal): Promise<void> {
    this.check(signal);
    this.backend.put(this.k.optime, serialize.optime(optime));
  }

  async requestFailover(req: FailoverRequest, signal: AbortSignal): Promise<boolean> {
    return this.createIfAbsent(this.k.failover, serialize.failover(req), signal);
  }

  async updateFailover(req: FailoverRequest, revision: number, signal: AbortSignal): Promise<boolean> {
    this.check(signal);
    const e = this.backend.get(this.k.failover);
    if (!e || e.revision !== revision) return false;
    this.backend.put(this.k.failover, serialize.failover(req));
    return true;
  }

  async clearFailover(revision: number, signal: AbortSignal): Promise<boolean> {
    this.check(signal);
    const e = this.backend.get(this.k.failover);
    if (!e || e.revision !== revision) return false;
    return this.backend.del(this.k.failover);
  }

  async setSync(state: SyncState | null, revision: number, signal: AbortSignal): Promise<boolean> {
    this.check(signal);
    const e = this.backend.get(this.k.sync);
    if ((e?.revision ?? 0) !== revision) return false;
    if (state === null) this.backend.del(this.k.sync);
    else this.backend.put(this.k.sync, serialize.sync(state));
    return true;
  }

  async setPause(state: PauseState | null, signal: AbortSignal): Promise<void> {
    this.check(signal);
    if (state === null) this.backend.del(this.k.pause);
    else this.backend.put(this.k.pause, serialize.pause(state));
  }

  async setAdmin(name: string, state: AdminState | null, signal: AbortSignal): Promise<void> {
    this.check(signal);
    if (state === null) this.backend.del(this.k.admin(name));
    else this.backend.put(this.k.admin(name), serialize.admin(state));
  }

  async appendEvent(event: ClusterEvent, signal: AbortSignal): Promise<void> {
    this.check(signal);
    this.backend.put(eventKey(this.k, Date.parse(event.at), this.eventSeq++, event.node), serialize.event(event));
    const { pairs } = this.backend.range(this.k.eventsPrefix, `${this.k.eventsPrefix}\uffff`);
    for (const p of pairs.slice(0, Math.max(0, pairs.length - EVENT_LOG_LIMIT))) this.backend.del(p.key);
  }

  async events(limit: number, signal: AbortSignal): Promise<ClusterEvent[]> {
    this.check(signal);
    const { pairs } = this.backend.range(this.k.eventsPrefix, `${this.k.eventsPrefix}\uffff`);
    return parseEvents(pairs.slice(-limit).map((p) => p.value));
  }

  watch(signal: AbortSignal): AsyncIterable<StoreChange> {
    if (signal.aborted) return new ChangeQueue<StoreChange>(signal, () => {});
    // Not aborted yet, so the queue ends (and unsubscribes) only later, once `stop` exists.
    const queue = new ChangeQueue<StoreChange>(signal, () => (stop(), this.watches.delete(queue)));
    const stop = this.backend.subscribe((c) => {
      if (!this.partitioned) queue.push(c);
    });
    this.watches.add(queue);
    if (!this.partitioned) queue.push(WATCH_LIVE);
    return queue;
  }

  async close(opts: { revoke?: boolean } = {}): Promise<void> {
    if (opts.revoke && this.lease !== null) this.backend.revoke(this.lease);
    this.lease = null;
  }

  /** Our lease, granted anew when the old one expired (the keys bound to it are gone by then). */
  private session(): number {
    if (this.lease === null || !this.backend.keepalive(this.lease, this.ttlMs)) this.lease = this.backend.grant(this.ttlMs);
    return this.lease;
  }

  private async createIfAbsent(key: string, value: string, signal: AbortSignal): Promise<boolean> {
    this.check(signal);
    if (this.backend.get(key)) return false;
    this.backend.put(key, value);
    return true;
  }

  private check(signal: AbortSignal): void {
    if (this.partitioned) throw new StoreUnavailableError('memory store: partitioned from this handle (test fault)');
    if (signal.aborted) throw new StoreUnavailableError('memory store: deadline passed before the call');
  }
}
