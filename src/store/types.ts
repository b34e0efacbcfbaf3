/**
 * What the state store holds, as typed, validated values: LSNs are `Lsn`, times are milliseconds
 * since the epoch. The stored form (JSON, LSNs in PostgreSQL's text form "0/3000060" so that
 * etcdctl output stays readable) is parsed and written only by codec.ts, at the store boundary.
 */
import type { Tags } from '../config/schema.js';
import type { CloneStatus } from '../util/clone-status.js';
import type { Lsn } from '../util/lsn.js';

export type { CloneStatus };

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
export const MEMBER_STATES = ['running', 'starting', 'stopped', 'crashed', 'cloning', 'rewinding', 'promoting', 'demoting', 'bootstrapping'] as const;
export type MemberState = (typeof MEMBER_STATES)[number];

/** Live status of a member, published every cycle and bound to the agent's session (TTL). */
export interface MemberStatus {
  readonly name: string;
  readonly role: MemberRole;
  readonly state: MemberState;
  readonly timeline: number | null;
  /** Primary: current write LSN. Standby: last received (flushed) LSN. */
  readonly lsn: Lsn | null;
  readonly replayed_lsn: Lsn | null;
  readonly upstream: string | null;
  readonly streaming: boolean;
  /** The filesystem of its data directory (or pg_wal) is full: it cannot take writes if promoted. */
  readonly disk_full: boolean;
  /** The floating address configured on this member, and whether its interface holds it; null: none configured. */
  readonly vip: { readonly address: string; readonly held: boolean } | null;
  /** The base backup it is receiving; null when it is not cloning. */
  readonly clone: CloneStatus | null;
  /** The last sentence of the agent's HA loop. */
  readonly message: string;
  readonly updated_at_ms: number;
}

export interface LeaderInfo {
  readonly name: string;
}

/** Last position the primary reported: durable, so a failover can judge lag after the leader died. */
export interface PrimaryOptime {
  readonly name: string;
  readonly lsn: Lsn;
  readonly timeline: number;
}

/** A planned switchover (`from` = the current leader) or an operator's forced failover. */
export interface FailoverRequest {
  readonly kind: 'switchover' | 'failover';
  readonly from: string | null;
  readonly to: string | null;
  /** Wall clock of the requesting host. */
  readonly requested_at_ms: number;
  /** Switchover: how long open transactions on the old primary may run on before it stops. */
  readonly drain_timeout_s?: number;
  /** Set by the leader once it accepted the switchover: proxies drain the old primary from then on (leader's clock). */
  readonly draining_since_ms?: number;
  /** Failover: the operator accepted possible loss; `to` promotes even if the election rules refuse it. */
  readonly force?: boolean;
}

/** The synchronous standby set as the leader last recorded it. */
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
  readonly narrowing?: { readonly to: readonly string[]; readonly count: number; readonly lsn: Lsn };
}

/** The operator paused the cluster: no automatic failover, restart or rejoin until resumed. */
export interface PauseState {
  readonly at: string;
  /** A whole-cluster stop or start under way (`pgwarden cluster stop|start`). */
  readonly cluster?: 'stop' | 'start';
}

/** An operator removed this node (`node remove`); its agent stays out until readmitted. */
export interface RemovedState {
  readonly at: string;
}

/** How one proxy routes to each node now (its own health checks and the operator's detach). */
export interface ProxyView {
  readonly name: string;
  readonly nodes: readonly { readonly name: string; readonly status: 'up' | 'down' | 'detached' }[];
  readonly updated_at_ms: number;
}

/** An operator's detach of a node from load balancing, shared by every proxy. */
export interface AdminState {
  readonly detached: boolean;
  readonly at: string;
}

/** Every kind of event the cluster records; `pgwarden cluster events` and the dashboard show them. */
export const EVENT_KINDS = [
  'leader_acquired',
  'leader_released',
  'bootstrap',
  'bootstrapped',
  'bootstrap_failed',
  'clone',
  'cloned',
  'clone_failed',
  'rewind',
  'rewound',
  'rewind_failed',
  'started',
  'restarted',
  'promoted',
  'demoted',
  'fenced',
  'following',
  'reaped',
  'sync_standby_names',
  'sync_set',
  'switchover_draining',
  'failover_cleared',
  'failover_requested',
  'node_added',
  'node_removed',
  'node_readmitted',
  'node_detached',
  'node_attached',
  'store_value_rejected',
  'vip_added',
  'vip_removed',
  'vip_failed',
  'callback_failed',
  'paused',
  'resumed',
  'cluster_stopping',
  'cluster_starting',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export interface ClusterEvent {
  /** ISO time on the writer's clock. */
  readonly at: string;
  readonly node: string;
  readonly kind: EventKind;
  readonly message: string;
}

export interface Versioned<T> {
  readonly value: T;
  /** Store revision of the last change of this key; used for compare-and-set. */
  readonly revision: number;
}

/** A stored value that failed validation: treated as absent, reported once by its readers. */
export interface RejectedValue {
  readonly key: string;
  /** Store revision of the bad value, so a reader reports each bad write once. */
  readonly revision: number;
  readonly reason: string;
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
  readonly pause: PauseState | null;
  readonly members: ReadonlyMap<string, MemberStatus>;
  readonly registry: ReadonlyMap<string, Registration>;
  readonly admin: ReadonlyMap<string, AdminState>;
  readonly removed: ReadonlyMap<string, RemovedState>;
  /** Every running proxy's view of the nodes, by proxy name. */
  readonly proxies: ReadonlyMap<string, ProxyView>;
  readonly rejected: readonly RejectedValue[];
}

export function emptySnapshot(): ClusterSnapshot {
  return {
    kind: 'snapshot',
    revision: 0,
    initialize: null,
    leader: null,
    optime: null,
    failover: null,
    sync: null,
    pause: null,
    members: new Map(),
    registry: new Map(),
    admin: new Map(),
    removed: new Map(),
    proxies: new Map(),
    rejected: [],
  };
}
