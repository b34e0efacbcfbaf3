/**
 * The view the HA decision reads: plain data built by observe.ts, never by decide(). Times are
 * monotonic milliseconds read once per cycle.
 */
import type { Tags } from '../config/schema.js';
import type { ClusterSnapshot, Registration } from '../store/types.js';
import type { Lsn } from '../util/lsn.js';
import type { SyncConfig } from './sync.js';

/** A standby connected to this primary, from pg_stat_replication (application_name = member name). */
export interface Replica {
  readonly name: string;
  /** startup, catchup, streaming, backup, stopping */
  readonly state: string;
  readonly flushLsn: Lsn | null;
  /** Since its last status message (standbys send one at least every second); null: none yet. */
  readonly replyAgeMs: number | null;
}

export interface HaConfig {
  readonly loopWaitMs: number;
  readonly ttlMs: number;
  readonly retryTimeoutMs: number;
  readonly maximumLagOnFailover: bigint;
  readonly primaryStartTimeoutMs: number;
  /** A leader's PostgreSQL that stops committing the write probe for this long is hung. */
  readonly primaryHangTimeoutMs: number;
  readonly tags: Tags;
  readonly sync: SyncConfig;
}

export interface LocalState {
  readonly dataDir: 'empty' | 'valid';
  /** running = accepts connections; starting = postmaster alive, not yet accepting; stopped = no postmaster. */
  readonly postmaster: 'running' | 'starting' | 'stopped';
  /** From SQL when running; from standby.signal when not. */
  readonly role: 'primary' | 'standby';
  readonly timeline: number | null;
  /** Primary: write LSN. Standby: received LSN. When stopped: the last checkpoint. */
  readonly lsn: Lsn | null;
  readonly replayedLsn: Lsn | null;
  /** The member this standby is configured to follow. */
  readonly upstream: string | null;
  readonly streaming: boolean;
  /** Since when (monotonic ms) the postmaster has been down although we did not stop it; null when up or stopped on purpose. */
  readonly downSince: number | null;
  /** Since when a running standby has not been streaming; null when streaming or not a standby. */
  readonly notStreamingSince: number | null;
  /** Since when a running primary has had no streaming standby at all; null otherwise. */
  readonly noReplicaSince: number | null;
  /** The live postmaster's pid; null when none runs. */
  readonly pid: number | null;
  /** The last probe got no answer within its deadline (a refusal, such as "starting up", is an answer). */
  readonly unresponsive: boolean;
  /** Since when a postmaster that had answered stops answering (or committing the write probe); null otherwise. */
  readonly hungSince: number | null;
  /** Since when the filesystem of the data directory (or of pg_wal) has been full; null otherwise. */
  readonly diskFullSince: number | null;
  /** pg_controldata says this data directory last ran as a primary: it may have diverged from a new leader. */
  readonly wasPrimary: boolean;
  /** Client sessions inside a transaction (0 unless running). */
  readonly openTransactions: number;
  /** synchronous_standby_names as it is now ('' unless running). */
  readonly syncStandbyNames: string;
  /** Standbys connected to us (a primary); empty otherwise. */
  readonly replicas: readonly Replica[];
  /** A crashed postmaster left processes of its group alive: they can still commit. */
  readonly orphans: boolean;
}

export interface PeerStatus {
  readonly name: string;
  readonly reachable: boolean;
  readonly running: boolean;
  readonly role: 'primary' | 'standby' | null;
  readonly lsn: Lsn | null;
  readonly timeline: number | null;
  readonly tags: Tags | null;
  readonly diskFull: boolean;
}

export type InFlightKind = 'bootstrap' | 'clone' | 'rewind';

export interface InFlight {
  readonly kind: InFlightKind;
  readonly startedAt: number;
  readonly progress: string;
}

export interface Lease {
  /** Our last acquire/refresh of the leader key succeeded. */
  readonly mine: boolean;
  /** When that success stops being a proof: the time the call was *sent* + ttl. */
  readonly validUntil: number;
  /** Our last acquire/refresh attempt failed (after retrying for retry_timeout). */
  readonly lastAttemptFailed: boolean;
}

/** What the executor holds that the next view shows. */
export interface ExecutorState {
  readonly lease: Lease;
  readonly inFlight: InFlight | null;
  readonly stoppedOnPurpose: boolean;
}

export type ClusterView = ClusterSnapshot | { readonly kind: 'unavailable'; readonly error: string };

/** How this node wants to be registered; `id` null: take the registered one, or the next free. */
export type WantedRegistration = Omit<Registration, 'id'> & { readonly id: number | null };

export interface View {
  readonly self: string;
  readonly registration: WantedRegistration;
  readonly now: number;
  /** Wall-clock ms since the epoch: only to age requests stamped by other hosts. */
  readonly wallNow: number;
  readonly config: HaConfig;
  readonly cluster: ClusterView;
  readonly local: LocalState;
  readonly lease: Lease;
  /** Probed by observe() only when there is no leader. */
  readonly peers: ReadonlyMap<string, PeerStatus>;
  readonly inFlight: InFlight | null;
  /** The floating address, when one is configured: whether our interface holds it (null: could not tell). */
  readonly vip: { readonly held: boolean | null } | null;
}
