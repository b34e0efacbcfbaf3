/**
 * etcd v3 backend (via the `etcd3` package). The session is one lease with the cluster TTL; the
 * leader key and our member status are attached to it. Every call carries a gRPC deadline taken
 * from the caller's signal budget, and every gRPC failure becomes StoreUnavailableError here, at
 * the boundary. The library's retry policy is reduced so that a dead endpoint is skipped quickly
 * instead of being retried past our deadline.
 */
import { circuitBreaker, ConsecutiveBreaker, handleAll, noop } from 'cockatiel';
import { CompareResult, CompareTarget, Etcd3, type ICompare, type IRequestOp, type Watcher } from 'etcd3';
import { StoreUnavailableError, errorMessage } from '../util/errors.js';
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

export interface EtcdStoreOptions {
  endpoints: string[];
  scope: string;
  ttlSeconds: number;
  /** Upper bound for one call when the caller's signal allows more. */
  callTimeoutMs: number;
  auth?: { username: string; password: string };
  /** TLS to etcd: the CA of its server certificates, and a client certificate when etcd asks for one. */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
}

const b = (s: string) => Buffer.from(s);
const rangeEnd = (prefix: string) => {
  const buf = b(prefix);
  buf.writeUInt8(buf.readUInt8(buf.length - 1) + 1, buf.length - 1);
  return buf;
};

export class EtcdStore implements StateStore {
  private readonly client: Etcd3;
  private readonly k: Keys;
  private lease: string | null = null;
  /** performance.now() of the last keepalive etcd confirmed. */
  private lastKeepalive = -Infinity;
  private eventSeq = 0;

  constructor(private readonly opts: EtcdStoreOptions) {
    this.k = keys(opts.scope);
    this.client = new Etcd3({
      hosts: opts.endpoints,
      ...(opts.auth ? { auth: opts.auth } : {}),
      ...(opts.tls ? { credentials: { rootCertificate: opts.tls.ca, ...(opts.tls.cert && opts.tls.key ? { certChain: opts.tls.cert, privateKey: opts.tls.key } : {}) } } : {}),
      // After a network loss, reconnect within a second rather than gRPC's default backoff of up
      // to two minutes: an agent must see the store again as soon as it is reachable.
      grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 1000 },
      faultHandling: {
        // One quick try per host; the caller's loop is the retry (Patroni-style, bounded by retry_timeout).
        global: noop,
        host: () => circuitBreaker(handleAll, { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) }),
      },
    });
  }

  async load(signal: AbortSignal): Promise<ClusterSnapshot> {
    const res = await this.call('load', signal, (o) => this.client.kv.range({ key: b(this.k.root), range_end: b(this.k.snapshotEnd) }, o));
    const pairs = res.kvs.map((kv) => ({ key: kv.key.toString(), value: kv.value.toString(), revision: Number(kv.mod_revision) }));
    return snapshotFromPairs(this.k, pairs, Number(res.header.revision));
  }

  async acquireLeader(name: string, signal: AbortSignal): Promise<boolean> {
    const lease = await this.session(signal);
    return this.txn('acquire leader', signal, [this.absent(this.k.leader)], [{ request_put: { key: b(this.k.leader), value: b(name), lease } }]);
  }

  async refreshLeader(name: string, signal: AbortSignal): Promise<boolean> {
    if (this.lease !== null && (await this.keepaliveLease(this.lease, signal))) {
      const held = await this.txn(
        'refresh leader',
        signal,
        [
          { key: b(this.k.leader), target: CompareTarget.Value, result: CompareResult.Equal, value: b(name) },
          { key: b(this.k.leader), target: CompareTarget.Lease, result: CompareResult.Equal, lease: this.lease },
        ],
        [],
      );
      if (held) return true;
    }
    // A restarted agent finds the key naming it on an older session: it adopts that session.
    const res = await this.call('read leader', signal, (o) => this.client.kv.range({ key: b(this.k.leader) }, o));
    const kv = res.kvs[0];
    if (!kv || kv.value.toString() !== name || kv.lease === '0' || kv.lease === this.lease) return false;
    this.lease = String(kv.lease);
    return this.keepaliveLease(this.lease, signal);
  }

  async releaseLeader(name: string, signal: AbortSignal, finalOptime?: PrimaryOptime): Promise<boolean> {
    const ops: IRequestOp[] = [{ request_delete_range: { key: b(this.k.leader) } }];
    if (finalOptime) ops.unshift({ request_put: { key: b(this.k.optime), value: b(serialize.optime(finalOptime)) } });
    return this.txn('release leader', signal, [{ key: b(this.k.leader), target: CompareTarget.Value, result: CompareResult.Equal, value: b(name) }], ops);
  }

  async putMember(status: MemberStatus, signal: AbortSignal): Promise<void> {
    const lease = await this.session(signal);
    await this.txn(
      'put member',
      signal,
      [this.absent(this.k.removed(status.name))],
      [{ request_put: { key: b(this.k.member(status.name)), value: b(serialize.member(status)), lease } }],
    );
  }

  async putProxy(view: ProxyView, signal: AbortSignal): Promise<void> {
    const lease = await this.session(signal);
    await this.call('put proxy', signal, (o) => this.client.kv.put({ key: b(this.k.proxy(view.name)), value: b(serialize.proxy(view)), lease }, o));
  }

  async register(reg: Registration, signal: AbortSignal): Promise<void> {
    await this.txn(
      'register',
      signal,
      [this.absent(this.k.removed(reg.name))],
      [{ request_put: { key: b(this.k.registration(reg.name)), value: b(serialize.registration(reg)) } }],
    );
  }

  async unregister(name: string, signal: AbortSignal, tombstone?: RemovedState): Promise<void> {
    const ops: IRequestOp[] = [this.k.registration(name), this.k.member(name), this.k.admin(name)].map((key) => ({ request_delete_range: { key: b(key) } }));
    if (tombstone) ops.push({ request_put: { key: b(this.k.removed(name)), value: b(serialize.removed(tombstone)) } });
    await this.txn(`unregister ${name}`, signal, [], ops);
  }

  async readmit(name: string, signal: AbortSignal): Promise<void> {
    await this.call('readmit', signal, (o) => this.client.kv.deleteRange({ key: b(this.k.removed(name)) }, o));
  }

  async initialize(sysid: string, signal: AbortSignal): Promise<boolean> {
    return this.txn('initialize', signal, [this.absent(this.k.initialize)], [{ request_put: { key: b(this.k.initialize), value: b(sysid) } }]);
  }

  async setOptime(optime: PrimaryOptime, signal: AbortSignal): Promise<void> {
    await this.put(this.k.optime, serialize.optime(optime), signal);
  }

  async requestFailover(req: FailoverRequest, signal: AbortSignal): Promise<boolean> {
    return this.txn('request failover', signal, [this.absent(this.k.failover)], [{ request_put: { key: b(this.k.failover), value: b(serialize.failover(req)) } }]);
  }

  async updateFailover(req: FailoverRequest, revision: number, signal: AbortSignal): Promise<boolean> {
    return this.txn('update failover', signal, [this.atRevision(this.k.failover, revision)], [{ request_put: { key: b(this.k.failover), value: b(serialize.failover(req)) } }]);
  }

  async clearFailover(revision: number, signal: AbortSignal): Promise<boolean> {
    return this.txn('clear failover', signal, [this.atRevision(this.k.failover, revision)], [{ request_delete_range: { key: b(this.k.failover) } }]);
  }

  async setSync(state: SyncState | null, revision: number, signal: AbortSignal): Promise<boolean> {
    const op: IRequestOp = state === null ? { request_delete_range: { key: b(this.k.sync) } } : { request_put: { key: b(this.k.sync), value: b(serialize.sync(state)) } };
    return this.txn('set sync', signal, [this.atRevision(this.k.sync, revision)], [op]);
  }

  async setPause(state: PauseState | null, signal: AbortSignal): Promise<void> {
    if (state === null) await this.call('resume', signal, (o) => this.client.kv.deleteRange({ key: b(this.k.pause) }, o));
    else await this.put(this.k.pause, serialize.pause(state), signal);
  }

  async setAdmin(name: string, state: AdminState | null, signal: AbortSignal): Promise<void> {
    const key = this.k.admin(name);
    if (state === null) await this.call('clear admin', signal, (o) => this.client.kv.deleteRange({ key: b(key) }, o));
    else await this.put(key, serialize.admin(state), signal);
  }

  async appendEvent(event: ClusterEvent, signal: AbortSignal): Promise<void> {
    const seq = this.eventSeq++;
    await this.put(eventKey(this.k, Date.parse(event.at), seq, event.node), serialize.event(event), signal);
    // Trim now and then rather than on every append: a keys-only count is cheap but not free.
    if (seq % 50 !== 0) return;
    const res = await this.call('trim events', signal, (o) => this.client.kv.range({ key: b(this.k.eventsPrefix), range_end: rangeEnd(this.k.eventsPrefix), keys_only: true }, o));
    const oldest = res.kvs[res.kvs.length - EVENT_LOG_LIMIT - 1];
    if (oldest) {
      const last = oldest.key;
      await this.call('trim events', signal, (o) => this.client.kv.deleteRange({ key: b(this.k.eventsPrefix), range_end: Buffer.concat([last, Buffer.from([0])]) }, o));
    }
  }

  async events(limit: number, signal: AbortSignal): Promise<ClusterEvent[]> {
    const res = await this.call('read events', signal, (o) =>
      this.client.kv.range({ key: b(this.k.eventsPrefix), range_end: rangeEnd(this.k.eventsPrefix), sort_order: 'Descend', sort_target: 'Key', limit }, o),
    );
    return parseEvents(res.kvs.map((kv) => kv.value.toString()).reverse());
  }

  watch(signal: AbortSignal): AsyncIterable<StoreChange> {
    let watcher: Watcher | null = null;
    let cancelled = false;
    const queue = new ChangeQueue<StoreChange>(signal, () => {
      cancelled = true;
      void watcher?.cancel().catch(() => {});
    });
    // The etcd3 watch manager reconnects by itself and resumes from the last revision it saw + 1.
    void this.client
      .watch()
      .prefix(this.k.root)
      .create()
      .then(
        (w) => {
          if (cancelled) return void w.cancel().catch(() => {});
          watcher = w;
          const push = (kv: { key: Buffer; mod_revision: string }) => {
            const key = kv.key.toString();
            queue.push({ kind: keyKind(this.k, key), key, revision: Number(kv.mod_revision) });
          };
          const live = () => queue.push(WATCH_LIVE);
          w.on('put', push);
          w.on('delete', push);
          // Live now (create() resolves on the first 'connected'); a reconnect may have missed
          // nothing (the manager resumes), but the caller should re-read.
          live();
          w.on('connected', live);
          w.on('error', () => {});
        },
        () => {},
      );
    return queue;
  }

  async close(opts: { revoke?: boolean } = {}): Promise<void> {
    if (opts.revoke && this.lease !== null) {
      const lease = this.lease;
      await this.call('revoke', AbortSignal.timeout(this.opts.callTimeoutMs), (o) => this.client.leaseClient.leaseRevoke({ ID: lease }, o)).catch(() => {});
    }
    this.lease = null;
    this.client.close();
  }

  /**
   * Our lease, granted anew if it expired (the keys bound to it are gone by then). A keepalive
   * sent less than a quarter TTL ago is fresh enough here: only refreshLeader, whose success is
   * the leader's proof, always sends its own.
   */
  private async session(signal: AbortSignal): Promise<string> {
    if (this.lease !== null && performance.now() - this.lastKeepalive < (this.opts.ttlSeconds * 1000) / 4) return this.lease;
    if (this.lease !== null && (await this.keepaliveLease(this.lease, signal))) return this.lease;
    const res = await this.call('grant lease', signal, (o) => this.client.leaseClient.leaseGrant({ TTL: this.opts.ttlSeconds, ID: 0 }, o));
    this.lease = String(res.ID);
    this.lastKeepalive = performance.now();
    return this.lease;
  }

  /** One keepalive on a short-lived stream; false when etcd says the lease is gone. */
  private async keepaliveLease(id: string, signal: AbortSignal): Promise<boolean> {
    const res = await this.call('keepalive', signal, async (o) => {
      const stream = await this.client.leaseClient.leaseKeepAlive(o);
      try {
        return await new Promise<{ TTL: string }>((resolve, reject) => {
          stream.on('data', resolve);
          stream.on('error', reject);
          stream.write({ ID: id });
        });
      } finally {
        stream.end();
      }
    });
    const alive = Number(res.TTL) > 0;
    if (alive) this.lastKeepalive = performance.now();
    return alive;
  }

  private absent(key: string): ICompare {
    return { key: b(key), target: CompareTarget.Create, result: CompareResult.Equal, create_revision: 0 };
  }

  private atRevision(key: string, revision: number): ICompare {
    return revision === 0 ? this.absent(key) : { key: b(key), target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: revision };
  }

  private async put(key: string, value: string, signal: AbortSignal): Promise<void> {
    await this.call(`put ${key}`, signal, (o) => this.client.kv.put({ key: b(key), value: b(value) }, o));
  }

  private async txn(what: string, signal: AbortSignal, compare: ICompare[], success: IRequestOp[]): Promise<boolean> {
    const res = await this.call(what, signal, (o) => this.client.kv.txn({ compare, success, failure: [] }, o));
    return res.succeeded;
  }

  /** What to check when etcd refuses us for our settings rather than for its health. */
  private hint(message: string): string {
    if (/bad certificate|certificate required|alert number 4[0-9]/i.test(message))
      return ' (etcd refused the TLS handshake: it requires a client certificate it trusts; check store.cert_file and store.key_file)';
    if (/self[- ]signed|unable to verify|unable to get local issuer|certificate verify failed/i.test(message)) return " (etcd's certificate is not signed by store.ca_file)";
    if (/authentication failed/i.test(message)) return ' (check store.username and its password)';
    if (/permission denied/i.test(message)) return ` (the etcd user's role must grant readwrite on the prefix ${this.k.root})`;
    return '';
  }

  /** Runs one RPC under a deadline and maps every failure to StoreUnavailableError. */
  private async call<T>(what: string, signal: AbortSignal, fn: (opts: { deadline: Date }) => Promise<T>): Promise<T> {
    if (signal.aborted) throw new StoreUnavailableError(`etcd ${what}: deadline passed before the call`);
    const deadline = new Date(Date.now() + this.opts.callTimeoutMs);
    let onAbort = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new StoreUnavailableError(`etcd ${what}: deadline exceeded`));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([fn({ deadline }), aborted]);
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      throw new StoreUnavailableError(`etcd ${what}: ${errorMessage(err)}${this.hint(errorMessage(err))}`, { cause: err });
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}
