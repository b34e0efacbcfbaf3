/**
 * I/O: builds the View for one cycle, every call under a deadline. The store snapshot, the local
 * instance's state, and (only when nobody holds the lock) the peers' state from their APIs.
 */
import type { PgController, SqlStatus } from '../postgres/controller.js';
import type { StateStore } from '../store/store.js';
import type { ClusterSnapshot, Registration } from '../store/types.js';
import { deadlineSignal } from '../util/deadline.js';
import { errorMessage } from '../util/errors.js';
import { parseLsn } from '../util/lsn.js';
import type { ClusterView, LocalState, PeerStatus } from './view.js';

/**
 * Reads the store, retrying for up to `timeoutMs`: one failed call (an etcd member down, a leader
 * election in etcd) must not fence a healthy primary; only a store that stays unreachable does.
 */
export async function loadCluster(store: StateStore, timeoutMs: number): Promise<ClusterView> {
  const deadline = performance.now() + timeoutMs;
  let error = '';
  while (performance.now() < deadline) {
    try {
      return await store.load(deadlineSignal(deadline - performance.now()));
    } catch (err) {
      error = errorMessage(err);
      await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, deadline - performance.now()))));
    }
  }
  return { kind: 'unavailable', error };
}

export interface LocalProbe {
  readonly state: Omit<LocalState, 'downSince' | 'notStreamingSince' | 'noReplicaSince'>;
  /** The SQL status when PostgreSQL accepts connections. */
  readonly sql: SqlStatus | null;
}

export async function probeLocal(pg: PgController, timeoutMs: number): Promise<LocalProbe> {
  const upstream = pg.currentRunAs()?.upstream?.name ?? null;
  if (pg.dataDirState() !== 'valid') {
    return { sql: null, state: { dataDir: 'empty', postmaster: 'stopped', role: 'standby', timeline: null, lsn: null, replayedLsn: null, upstream, streaming: false, wasPrimary: false, openTransactions: 0, syncStandbyNames: '', replicas: [] } };
  }
  if (pg.postmasterPid() !== null) {
    try {
      const s = await pg.status(timeoutMs);
      return {
        sql: s,
        state: { dataDir: 'valid', postmaster: 'running', role: s.inRecovery ? 'standby' : 'primary', timeline: s.timeline, lsn: s.lsn, replayedLsn: s.replayedLsn, upstream, streaming: s.streaming, wasPrimary: !s.inRecovery, openTransactions: s.openTransactions, syncStandbyNames: s.syncStandbyNames,
          replicas: s.replication.map((r) => ({ name: r.application_name, state: r.state, flushLsn: r.flush_lsn, replyAgeMs: r.reply_age_ms })) },
      };
    } catch {
      return { sql: null, state: { dataDir: 'valid', postmaster: 'starting', role: pg.isConfiguredAsStandby() ? 'standby' : 'primary', timeline: null, lsn: null, replayedLsn: null, upstream, streaming: false, wasPrimary: false, openTransactions: 0, syncStandbyNames: '', replicas: [] } };
    }
  }
  const cd = await pg.controlData().catch(() => null);
  return {
    sql: null,
    state: {
      dataDir: 'valid',
      postmaster: 'stopped',
      role: pg.isConfiguredAsStandby() ? 'standby' : 'primary',
      timeline: cd?.timeline ?? null,
      lsn: cd?.checkpointLsn ?? null,
      replayedLsn: null,
      upstream,
      streaming: false,
      // "in production" = crashed while primary; "shut down" = stopped cleanly as primary. A fresh
      // base backup also says "in production" (the primary's control file), but comes with standby.signal.
      wasPrimary: cd !== null && (cd.state === 'in production' || cd.state === 'shut down') && !pg.isConfiguredAsStandby(),
      openTransactions: 0,
      syncStandbyNames: '',
      replicas: [],
    },
  };
}

/** The JSON every agent serves at GET /status, which peers read during an election. */
export interface PeerReport {
  name: string;
  running: boolean;
  role: 'primary' | 'standby' | null;
  lsn: string | null;
  /** A standby's WAL receiver streams (live, not from the store). */
  streaming: boolean;
  timeline: number | null;
  tags: PeerStatus['tags'];
}

/** A member's GET /status; null when its agent does not answer within the deadline. */
export async function fetchPeerReport(reg: Registration, timeoutMs: number): Promise<PeerReport | null> {
  try {
    const res = await fetch(`${reg.api_url}/status`, { signal: deadlineSignal(timeoutMs) });
    return res.ok ? ((await res.json()) as PeerReport) : null;
  } catch {
    return null;
  }
}

/**
 * Asks every live peer (one whose session still holds a member key) for its state. A node cut off
 * from the store loses its member key with its session, so it is never waited for as the "better
 * candidate" it can no longer become.
 */
export async function probePeers(c: ClusterSnapshot, self: string, timeoutMs: number): Promise<Map<string, PeerStatus>> {
  const others = [...c.registry.values()].filter((r) => r.name !== self && c.members.has(r.name));
  const results = await Promise.all(others.map(async (r): Promise<PeerStatus> => {
    const body = await fetchPeerReport(r, timeoutMs);
    if (!body) return { name: r.name, reachable: false, running: false, role: null, lsn: null, timeline: null, tags: r.tags };
    return { name: r.name, reachable: true, running: body.running, role: body.role, lsn: body.lsn ? parseLsn(body.lsn) : null, timeline: body.timeline, tags: body.tags ?? r.tags };
  }));
  return new Map(results.map((p) => [p.name, p]));
}
