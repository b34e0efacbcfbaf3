/**
 * What the HA decision can ask for. The executor runs a decision's actions in order and stops at
 * the first failure (or a lost compare-and-set), then the loop runs again at once.
 * Action types are snake_case because they also appear in events, JSON and CLI output.
 */
import type { FailoverRequest, Registration, SyncState } from '../store/types.js';

export type Action =
  | { readonly type: 'acquire_leader' }
  | { readonly type: 'refresh_leader' }
  /** Delete our leader key; with PostgreSQL stopped, record its final checkpoint as the cluster's optime. */
  | { readonly type: 'release_leader' }
  /** Long: initdb, start as primary, create the replication role, record the system identifier. */
  | { readonly type: 'bootstrap' }
  /** Long: pg_basebackup from `from`, then start as its standby. */
  | { readonly type: 'clone'; readonly from: string }
  /** Long: pg_rewind against `from` (re-clone if that fails), then start as its standby. */
  | { readonly type: 'rewind'; readonly from: string }
  | { readonly type: 'start'; readonly as: 'primary' | 'standby'; readonly upstream: string | null }
  | { readonly type: 'promote' }
  /** Stop PostgreSQL: graceful for a switchover (standbys receive everything), immediate to fence. */
  | { readonly type: 'demote'; readonly mode: 'graceful' | 'immediate' }
  | { readonly type: 'follow'; readonly leader: string }
  | { readonly type: 'sync_slots' }
  | { readonly type: 'publish_optime' }
  | { readonly type: 'record_initialize' }
  | { readonly type: 'clear_failover'; readonly revision: number }
  /** Synchronous replication: set synchronous_standby_names (and reload). */
  | { readonly type: 'set_sync_guc'; readonly value: string }
  /** Write (null: delete) the recorded synchronous set iff still at `revision` (0 = absent). */
  | { readonly type: 'set_sync_record'; readonly revision: number; readonly state: SyncState | null }
  /** Switchover accepted: store the request again with `draining_since` set, iff still at `revision`. */
  | { readonly type: 'start_drain'; readonly revision: number; readonly request: FailoverRequest }
  /**
   * Kill every process of a hung instance: like a crash, not a stop on purpose, so the node waits
   * for a new leader instead of taking the lock back.
   */
  | { readonly type: 'fence' }
  /** Kill what is left of a crashed instance (orphaned backends can still commit). */
  | { readonly type: 'reap' }
  /** Add the floating address to our interface and announce it (gratuitous ARP). */
  | { readonly type: 'hold_vip'; readonly reason: string }
  /** Remove the floating address from our interface; a failure is recorded, never stops the decision. */
  | { readonly type: 'drop_vip'; readonly reason: string }
  /** Create or update our durable registration. */
  | { readonly type: 'register'; readonly registration: Registration }
  /** Publish our live status (session-bound) with this decision's message. */
  | { readonly type: 'publish_member' };

/**
 * Actions that report rather than act: they close every decision and run even after an earlier
 * action failed, so the cluster keeps seeing this member (and why it is stuck).
 */
export const REPORTING_ACTIONS: ReadonlySet<Action['type']> = new Set(['register', 'publish_member']);

export interface Decision {
  readonly actions: readonly Action[];
  /** One sentence per cycle: what was decided and why. Logged when it changes, shown by the API. */
  readonly message: string;
}

export const decision = (message: string, ...actions: Action[]): Decision => ({ actions, message });
