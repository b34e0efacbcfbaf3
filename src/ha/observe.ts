/**
 * I/O, read-only: builds the View for one cycle, every call under a deadline. The store snapshot,
 * the local instance's state, and (only when nobody holds the lock) the peers' state from their
 * APIs. Observing changes nothing: what must be done about what it sees is the decision's.
 */
import { fetchNodeReport } from '../client/api-client.js';
import type { HttpTls } from '../client/http.js';
import type { LocalInstance, SqlStatus } from '../postgres/controller.js';
import type { StateStore } from '../store/store.js';
import type { ClusterSnapshot } from '../store/types.js';
import type { Clock } from '../util/clock.js';
import { deadlineSignal } from '../util/deadline.js';
import { PostgresTimeoutError, errorMessage } from '../util/errors.js';
import type { HaDeps } from './deps.js';
import type { ClusterView, ExecutorState, LocalState, PeerStatus, View, WantedRegistration } from './view.js';

/**
 * Reads the store, retrying for up to `timeoutMs`: one failed call (an etcd member down, a leader
 * election in etcd) must not fence a healthy primary; only a store that stays unreachable does.
 */
export async function loadCluster(store: StateStore, timeoutMs: number, clock: Clock): Promise<ClusterView> {
  const deadline = clock.now() + timeoutMs;
  let error = '';
  while (clock.now() < deadline) {
    try {
      return await store.load(deadlineSignal(deadline - clock.now()));
    } catch (err) {
      error = errorMessage(err);
      await clock.sleep(Math.min(200, Math.max(0, deadline - clock.now())));
    }
  }
  return { kind: 'unavailable', error };
}

/** The local state as one probe sees it; the edges (since when) are tracked across probes. */
export type ProbedState = Omit<LocalState, 'downSince' | 'notStreamingSince' | 'noReplicaSince' | 'hungSince' | 'diskFullSince'> & {
  /** The filesystem of the data directory (or of pg_wal) has no room left. */
  readonly diskFull: boolean;
};

export interface LocalProbe {
  readonly state: ProbedState;
  /** The SQL status when PostgreSQL accepts connections. */
  readonly sql: SqlStatus | null;
}

const notRunning = {
  timeline: null,
  lsn: null,
  replayedLsn: null,
  streaming: false,
  wasPrimary: false,
  openTransactions: 0,
  syncStandbyNames: '',
  replicas: [],
  pid: null,
  unresponsive: false,
  diskFull: false,
} as const;

/**
 * The local instance's state. `status` is the SQL status query to use: the HA loop's own by
 * default; the REST API passes its own connection's (`liveStatus`) so that it never delays the loop.
 */
export async function probeLocal(pg: LocalInstance, timeoutMs: number, status = (ms: number) => pg.status(ms)): Promise<LocalProbe> {
  const upstream = pg.currentRunAs()?.upstream?.name ?? null;
  if (pg.dataDirState() !== 'valid') return { sql: null, state: { ...notRunning, dataDir: 'empty', postmaster: 'stopped', role: 'standby', upstream, orphans: false } };
  const pid = pg.postmasterPid();
  if (pid !== null) {
    try {
      const s = await status(timeoutMs);
      return {
        sql: s,
        state: {
          dataDir: 'valid',
          postmaster: 'running',
          role: s.inRecovery ? 'standby' : 'primary',
          timeline: s.timeline,
          lsn: s.lsn,
          replayedLsn: s.replayedLsn,
          upstream,
          streaming: s.streaming,
          wasPrimary: !s.inRecovery,
          openTransactions: s.openTransactions,
          syncStandbyNames: s.syncStandbyNames,
          replicas: s.replication.map((r) => ({ name: r.application_name, state: r.state, flushLsn: r.flush_lsn, replyAgeMs: r.reply_age_ms })),
          orphans: false,
          pid,
          unresponsive: false,
          diskFull: pg.diskFull(),
        },
      };
    } catch (err) {
      // No answer at all, as opposed to a refusal such as "the database system is starting up".
      const unresponsive = err instanceof PostgresTimeoutError;
      return {
        sql: null,
        state: { ...notRunning, dataDir: 'valid', postmaster: 'starting', role: pg.isConfiguredAsStandby() ? 'standby' : 'primary', upstream, orphans: false, pid, unresponsive },
      };
    }
  }
  const cd = await pg.controlData().catch(() => null);
  const standby = pg.isConfiguredAsStandby();
  return {
    sql: null,
    state: {
      ...notRunning,
      dataDir: 'valid',
      postmaster: 'stopped',
      role: standby ? 'standby' : 'primary',
      timeline: cd?.timeline ?? null,
      lsn: cd?.checkpointLsn ?? null,
      upstream,
      // "in production" = crashed while primary; "shut down" = stopped cleanly as primary. A fresh
      // base backup also says "in production" (the primary's control file), but comes with standby.signal.
      wasPrimary: cd !== null && (cd.state === 'in production' || cd.state === 'shut down') && !standby,
      orphans: pg.hasOrphans(),
    },
  };
}

/** Since when a condition holds (monotonic ms), carried from one probe to the next. */
export interface Edges {
  /** PostgreSQL ran at some point under this agent: a later absence is a crash, not a first start. */
  readonly seenRunning: boolean;
  readonly downSince: number | null;
  readonly notStreamingSince: number | null;
  readonly noReplicaSince: number | null;
  /** The postmaster that last answered the probe. */
  readonly answeredPid: number | null;
  readonly hungSince: number | null;
  readonly diskFullSince: number | null;
}

export const NO_EDGES: Edges = { seenRunning: false, downSince: null, notStreamingSince: null, noReplicaSince: null, answeredPid: null, hungSince: null, diskFullSince: null };

/**
 * Pure: the edges after a probe at `now`. Down counts as a crash only when PostgreSQL ran before,
 * we did not stop it, and no long action (clone, rewind) has it down on purpose.
 */
export function trackEdges(prev: Edges, s: ProbedState, now: number, ctx: { readonly stoppedOnPurpose: boolean; readonly inFlight: boolean }): Edges {
  let { seenRunning, downSince } = prev;
  if (s.postmaster === 'running') {
    seenRunning = true;
    downSince = null;
  } else if (s.postmaster === 'stopped' && seenRunning && !ctx.stoppedOnPurpose && !ctx.inFlight) {
    downSince ??= now;
  }
  const notStreaming = s.postmaster === 'running' && s.role === 'standby' && !s.streaming;
  const noReplica = s.postmaster === 'running' && s.role === 'primary' && !s.replicas.some((r) => r.state === 'streaming');
  // Hung: the postmaster that answered before is alive but no longer answers at all. A fresh
  // postmaster still starting is not hung (primary_start_timeout covers it), nor is one that
  // answers "starting up" or "in recovery" (it is working: a crash of one backend resets them all).
  const answeredPid = s.postmaster === 'running' ? s.pid : s.pid === prev.answeredPid ? prev.answeredPid : null;
  const hung = s.postmaster === 'starting' && s.unresponsive && s.pid !== null && s.pid === prev.answeredPid;
  return {
    seenRunning,
    downSince,
    notStreamingSince: notStreaming ? (prev.notStreamingSince ?? now) : null,
    noReplicaSince: noReplica ? (prev.noReplicaSince ?? now) : null,
    answeredPid,
    hungSince: hung ? (prev.hungSince ?? now) : null,
    diskFullSince: s.diskFull ? (prev.diskFullSince ?? now) : null,
  };
}

/**
 * Asks every live peer (one whose session still holds a member key) for its state. A node cut off
 * from the store loses its member key with its session, so it is never waited for as the "better
 * candidate" it can no longer become.
 */
export async function probePeers(c: ClusterSnapshot, self: string, timeoutMs: number, tls: HttpTls | null = null): Promise<Map<string, PeerStatus>> {
  const others = [...c.registry.values()].filter((r) => r.name !== self && c.members.has(r.name));
  const results = await Promise.all(
    others.map(async (r): Promise<PeerStatus> => {
      const body = await fetchNodeReport(r, timeoutMs, tls);
      if (!body) return { name: r.name, reachable: false, running: false, role: null, lsn: null, timeline: null, tags: r.tags, diskFull: false };
      return { name: r.name, reachable: true, running: body.running, role: body.role, lsn: body.lsn, timeline: body.timeline, tags: body.tags ?? r.tags, diskFull: body.disk_full };
    }),
  );
  return new Map(results.map((p) => [p.name, p]));
}

export interface ObserverDeps extends Omit<HaDeps, 'log'> {
  readonly registration: WantedRegistration;
}

/** Builds one View per cycle and keeps the edges between cycles; the only state it holds. */
export class Observer {
  private edges: Edges = NO_EDGES;

  constructor(private readonly d: ObserverDeps) {}

  async observe(exec: ExecutorState): Promise<{ view: View; sql: SqlStatus | null }> {
    const { config, clock } = this.d;
    // The store first: only the lock holder's primary commits the write probe (see PgController.status).
    const cluster = await loadCluster(this.d.store, config.retryTimeoutMs, clock);
    const writeProbe = cluster.kind === 'snapshot' && cluster.leader?.name === this.d.name;
    const probe = await probeLocal(this.d.pg, Math.min(2000, config.retryTimeoutMs), (ms) => this.d.pg.status(ms, { writeProbe }));
    const now = clock.now();
    const s = probe.state;
    this.edges = trackEdges(this.edges, s, now, { stoppedOnPurpose: exec.stoppedOnPurpose, inFlight: exec.inFlight !== null });
    const { downSince, notStreamingSince, noReplicaSince, hungSince, diskFullSince } = this.edges;
    const { diskFull: _, ...probed } = s;
    const local: LocalState = { ...probed, downSince, notStreamingSince, noReplicaSince, hungSince, diskFullSince };
    const peers =
      cluster.kind === 'snapshot' && cluster.leader === null && s.postmaster === 'running'
        ? await probePeers(cluster, this.d.name, Math.min(2000, config.retryTimeoutMs), this.d.peerTls ?? null)
        : new Map<string, PeerStatus>();
    const vip = this.d.vip ? { held: await this.d.vip.held().catch(() => null) } : null;
    const view: View = {
      self: this.d.name,
      registration: this.d.registration,
      now,
      wallNow: clock.wall(),
      config,
      cluster,
      local,
      lease: exec.lease,
      peers,
      inFlight: exec.inFlight,
      vip,
    };
    return { view, sql: probe.sql };
  }
}
