/**
 * The state store: the single source of truth for agents and proxies.
 *
 * Contract for every method (both backends, checked by test/contract/store.contract.ts):
 *  - store unreachable or too slow for the deadline (the signal)  -> throws StoreUnavailableError
 *  - compare-and-set lost (someone else holds the key)            -> resolves false, never throws
 *  - load() returns one consistent snapshot (one range read at one revision); every value in it
 *    was validated (store/codec.ts): a malformed one is left out and listed in `rejected`, never
 *    thrown
 *
 * Each StateStore instance is one agent's handle and owns one *session*: a lease with the cluster
 * TTL. The member status and the leader key are bound to it, so both vanish when the agent stops
 * refreshing (crash, partition) for longer than the TTL.
 */
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
import type { KeyKind } from './keys.js';

export { StoreUnavailableError } from '../util/errors.js';

export interface StoreChange {
  readonly kind: KeyKind;
  readonly key: string;
  readonly revision: number;
}

/** What a watch yields once it is live, and again after a reconnect: re-read now (see `watch`). */
export const WATCH_LIVE: StoreChange = { kind: 'other', key: '', revision: 0 };

export interface StateStore {
  /** One snapshot of every key but the event log. */
  load(signal: AbortSignal): Promise<ClusterSnapshot>;

  /**
   * Create the leader key naming `name` iff it is absent, bound to our session. Timing-critical:
   * the caller measures lease validity from the moment it *sent* this call.
   */
  acquireLeader(name: string, signal: AbortSignal): Promise<boolean>;
  /** Keep our session alive and check that the leader key still names us. Timing-critical. */
  refreshLeader(name: string, signal: AbortSignal): Promise<boolean>;
  /** Delete the leader key iff it names us. Optionally record the final primary position. */
  releaseLeader(name: string, signal: AbortSignal, finalOptime?: PrimaryOptime): Promise<boolean>;

  /**
   * Publish our live status, bound to our session. Atomically a no-op while the node has a
   * tombstone: a write decided before `node remove` must not bring the member back.
   */
  putMember(status: MemberStatus, signal: AbortSignal): Promise<void>;
  /** Create or update the durable registration; like putMember, a no-op under a tombstone. */
  register(reg: Registration, signal: AbortSignal): Promise<void>;
  /**
   * Forget a member: its registration, live status and proxy setting, in one step; with a
   * tombstone (`node remove`), its agent stays out until readmit().
   */
  unregister(name: string, signal: AbortSignal, tombstone?: RemovedState): Promise<void>;
  /**
   * A proxy publishes how it routes to each node, bound to its session: a proxy that stops is
   * forgotten after the TTL. Calls keep the session alive, so a proxy makes one at least every ttl/3.
   */
  putProxy(view: ProxyView, signal: AbortSignal): Promise<void>;
  /** Lift a removed node's tombstone: its agent registers again. */
  readmit(name: string, signal: AbortSignal): Promise<void>;

  /** Record the cluster's system identifier iff nobody did yet: the bootstrap race. */
  initialize(sysid: string, signal: AbortSignal): Promise<boolean>;
  setOptime(optime: PrimaryOptime, signal: AbortSignal): Promise<void>;

  /** Create the failover/switchover request iff none is pending. */
  requestFailover(req: FailoverRequest, signal: AbortSignal): Promise<boolean>;
  /** Replace the request iff it is still the one at `revision`. */
  updateFailover(req: FailoverRequest, revision: number, signal: AbortSignal): Promise<boolean>;
  /** Delete the request iff it is still the one at `revision`. */
  clearFailover(revision: number, signal: AbortSignal): Promise<boolean>;
  /** Write the sync state iff the key is still at `revision` (0 = absent). */
  setSync(state: SyncState | null, revision: number, signal: AbortSignal): Promise<boolean>;

  /** Pause the cluster (or with null, resume it). */
  setPause(state: PauseState | null, signal: AbortSignal): Promise<void>;
  /** Record (or with null, clear) the operator's admin state of a node. */
  setAdmin(name: string, state: AdminState | null, signal: AbortSignal): Promise<void>;

  appendEvent(event: ClusterEvent, signal: AbortSignal): Promise<void>;
  /** The newest `limit` events, oldest first. */
  events(limit: number, signal: AbortSignal): Promise<ClusterEvent[]>;

  /**
   * Changes after the moment of the call, until `signal` aborts. After a reconnect the stream
   * resumes from the last revision seen + 1, so nothing is missed. Its first change is
   * `WATCH_LIVE` once the watch is live (and again after each reconnect): a caller that re-reads
   * then has missed nothing, and may rely on the watch for every later change.
   */
  watch(signal: AbortSignal): AsyncIterable<StoreChange>;

  /** Stop the session. `revoke` deletes our session-bound keys at once (clean shutdown); without it they expire after the TTL. */
  close(opts?: { revoke?: boolean }): Promise<void>;
}

/** How many events the log keeps; older ones are trimmed by their writers. */
export const EVENT_LOG_LIMIT = 1000;
