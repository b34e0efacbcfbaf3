/**
 * What the state store holds, as plain data with parse/serialize. Values are JSON; LSNs travel as
 * PostgreSQL's text form ("0/3000060") so that etcdctl output stays readable.
 */
import type { Tags } from '../config/schema.js';

/** Durable registration of a node: survives the agent's death so `cluster show` can flag it. */
export interface Registration {
  readonly name: string;
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly api_url: string;
  readonly tags: Tags;
}

export type MemberRole = 'primary' | 'standby' | 'unknown';
/** What the agent is doing with its PostgreSQL right now. */
export type MemberState = 'running' | 'starting' | 'stopped' | 'crashed' | 'cloning' | 'rewinding' | 'promoting' | 'demoting' | 'bootstrapping';

/** Live status of a member, published every cycle and bound to the agent's session (TTL). */
export interface MemberStatus {
  readonly name: string;
  readonly role: MemberRole;
  readonly state: MemberState;
  readonly timeline: number | null;
  /** Primary: current write LSN. Standby: last received (flushed) LSN. */
  readonly lsn: string | null;
  readonly replayed_lsn: string | null;
  readonly upstream: string | null;
  readonly streaming: boolean;
  /** The last sentence of the agent's HA loop. */
  readonly message: string;
  readonly updated_at: string;
}

export interface LeaderInfo {
  readonly name: string;
}

/** Last position the primary reported: durable, so a failover can judge lag after the leader died. */
export interface PrimaryOptime {
  readonly name: string;
  readonly lsn: string;
  readonly timeline: number;
}

/** A planned switchover (`from` = the current leader) or an operator's forced failover. */
export interface FailoverRequest {
  readonly kind: 'switchover' | 'failover';
  readonly from: string | null;
  readonly to: string | null;
  readonly requested_at: string;
  /** Switchover: how long open transactions on the old primary may run on before it stops. */
  readonly drain_timeout_s?: number;
  /** Set by the leader once it accepted the switchover: proxies drain the old primary from then on (leader's clock). */
  readonly draining_since?: string;
  /** Failover: the operator accepted possible loss; `to` promotes even if the election rules refuse it. */
  readonly force?: boolean;
}

/** The synchronous standby set as the leader last recorded it (used by the synchronous-mode issue). */
export interface SyncState {
  readonly leader: string;
  /** Every standby the leader's synchronous_standby_names may name (empty: asynchronous). */
  readonly members: readonly string[];
  readonly mode: 'on' | 'quorum';
  /** k: how many of them confirm each commit. */
  readonly count: number;
  /** The configured synchronous_node_count (count is lower while too few standbys are eligible). */
  readonly wanted: number;
  /**
   * Set while the record is wider than the GUC: the GUC already names `to` (count `count`), and the
   * primary had written up to `lsn` when it was seen to; once every standby in `to` has flushed
   * `lsn`, they hold every commit acknowledged before, and the record may shrink to them.
   */
  readonly narrowing?: { readonly to: readonly string[]; readonly count: number; readonly lsn: string };
}

/** An operator's detach of a node from load balancing, shared by every proxy. */
export interface AdminState {
  readonly detached: boolean;
  readonly at: string;
}

export interface ClusterEvent {
  readonly at: string;
  readonly node: string;
  readonly kind: string;
  readonly message: string;
}

export interface Versioned<T> {
  readonly value: T;
  /** Store revision of the last change of this key; used for compare-and-set. */
  readonly revision: number;
}

/** One consistent read of the whole cluster state. */
export interface ClusterSnapshot {
  readonly kind: 'snapshot';
  readonly revision: number;
  /** PostgreSQL system identifier of the cluster once bootstrapped; null before anyone ran initdb. */
  readonly initialize: string | null;
  readonly leader: LeaderInfo | null;
  readonly optime: PrimaryOptime | null;
  readonly failover: Versioned<FailoverRequest> | null;
  readonly sync: Versioned<SyncState> | null;
  readonly members: ReadonlyMap<string, MemberStatus>;
  readonly registry: ReadonlyMap<string, Registration>;
  readonly admin: ReadonlyMap<string, AdminState>;
}

export function emptySnapshot(): ClusterSnapshot {
  return { kind: 'snapshot', revision: 0, initialize: null, leader: null, optime: null, failover: null, sync: null, members: new Map(), registry: new Map(), admin: new Map() };
}
