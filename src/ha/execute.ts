/**
 * I/O: performs a decision's actions in order and stops at the first failure or lost
 * compare-and-set (the reporting actions that close a decision still run). Long actions
 * (bootstrap, clone, rewind) run in the background as InFlight so the loop keeps refreshing the
 * lock meanwhile. Every role change becomes an event in the store.
 *
 * What a run changes of the lease is returned in its result; what the executor is doing to
 * PostgreSQL (a long action, a stop on purpose) is its own state, read through `state()`.
 */
import { slotName, type Upstream } from '../postgres/controller.js';
import type { CloneProgress } from '../postgres/clone.js';
import type { CloneStatus, ClusterSnapshot, EventKind, MemberState, MemberStatus } from '../store/types.js';
import { deadlineSignal } from '../util/deadline.js';
import type { Lsn } from '../util/lsn.js';
import { StoreUnavailableError, errorMessage } from '../util/errors.js';
import { REPORTING_ACTIONS, type Action, type Decision } from './actions.js';
import type { HaDeps } from './deps.js';
import type { ExecutorState, InFlight, InFlightKind, Lease, LocalState, View } from './view.js';

export interface ExecutorDeps extends HaDeps {
  /** Re-run the loop now (a long action ended, a CAS was lost). */
  readonly wake: () => void;
}

export interface ExecResult {
  readonly ok: boolean;
  readonly failed?: { readonly action: Action['type']; readonly error: string };
  /** The lease after the run: changed by acquire, refresh and release, else the view's. */
  readonly lease: Lease;
}

/** What one run changes as it goes: the lease, and whether our interface holds the floating address. */
interface Run {
  lease: Lease;
  vipHeld: boolean | null;
}

export const NO_LEASE: Lease = { mine: false, validUntil: 0, lastAttemptFailed: false };

/**
 * How much earlier than the lease's own end the lease guard kills the primary: room for the kill
 * itself and for the clocks of this host and the store's leader running at slightly different rates.
 */
export const GUARD_MARGIN_MS = 1000;

/** How long a rewound standby may take to accept connections before the rewind counts as good. */
const REWOUND_START_MS = 30_000;

/** A clone's progress goes to the log this often: a line every few seconds, not one per block. */
const CLONE_LOG_EVERY_MS = 5000;

export class Executor {
  private inFlight: InFlight | null = null;
  /** The base backup being received, while a clone runs. */
  private copy: CloneStatus | null = null;
  /** We stopped PostgreSQL on purpose (demote); its absence is not a crash. */
  private stoppedOnPurpose = false;
  private lastOptime: bigint | null = null;
  private rolesEnsured = false;

  constructor(private readonly d: ExecutorDeps) {}

  /** The base backup this node is receiving, or null. */
  cloneStatus(): CloneStatus | null {
    return this.copy;
  }

  /** What the next view needs of the executor, given the lease the last run returned. */
  state(lease: Lease): ExecutorState {
    return { lease, inFlight: this.inFlight, stoppedOnPurpose: this.stoppedOnPurpose };
  }

  /** The view of the last run (what an event happened in, for the monitor). */
  private lastView: View | null = null;

  async run(dec: Decision, view: View): Promise<ExecResult> {
    const run: Run = { lease: view.lease, vipHeld: view.vip?.held ?? null };
    this.lastView = view;
    // libpq programs get passwords for the registered members' addresses only (pgpass).
    if (view.cluster.kind === 'snapshot') this.d.pg.trustMembers([...view.cluster.registry.values()]);
    let failed: ExecResult['failed'];
    for (const action of dec.actions) {
      if (failed && !REPORTING_ACTIONS.has(action.type)) continue;
      try {
        const ok = await this.perform(action, view, dec.message, run);
        if (!ok) failed ??= { action: action.type, error: 'compare-and-set lost' };
      } catch (err) {
        this.d.log.warn({ action: action.type, err: errorMessage(err) }, 'action failed');
        failed ??= { action: action.type, error: errorMessage(err) };
      }
    }
    return failed ? { ok: false, failed, lease: run.lease } : { ok: true, lease: run.lease };
  }

  /** Records an event in the store (best effort: the log line is the fallback); `atMs` when it happened earlier. */
  async event(kind: EventKind, message: string, atMs = this.d.clock.wall()): Promise<void> {
    this.d.log.info({ event: kind }, message);
    this.d.monitor?.event(kind, this.lastView);
    await this.d.store.appendEvent({ at: new Date(atMs).toISOString(), node: this.d.name, kind, message }, deadlineSignal(this.d.config.retryTimeoutMs)).catch(() => {});
  }

  private async perform(a: Action, v: View, why: string, run: Run): Promise<boolean> {
    const { store, pg, config } = this.d;
    const snap = v.cluster.kind === 'snapshot' ? v.cluster : null;
    const signal = () => deadlineSignal(config.retryTimeoutMs);
    switch (a.type) {
      case 'acquire_leader': {
        const sent = this.d.clock.now();
        const ok = await store.acquireLeader(this.d.name, signal());
        run.lease = { mine: ok, validUntil: ok ? sent + config.ttlMs : 0, lastAttemptFailed: false };
        if (ok) {
          this.guardLease(run.lease);
          await this.event('leader_acquired', why);
        } else this.d.wake();
        return ok;
      }
      case 'refresh_leader':
        return this.refresh(run);
      case 'release_leader': {
        const cd = pg.dataDirState() === 'valid' && pg.postmasterPid() === null ? await pg.controlData().catch(() => null) : null;
        const final = cd && cd.state === 'shut down' ? { name: this.d.name, lsn: cd.checkpointLsn, timeline: cd.timeline } : undefined;
        await store.releaseLeader(this.d.name, signal(), final);
        run.lease = NO_LEASE;
        // Nothing left to enforce once PostgreSQL is down (every release follows a stop or a kill):
        // the guard stops its watchdog now, instead of letting it run out at the old deadline.
        if (pg.postmasterPid() === null) pg.disarmLease();
        await this.event('leader_released', why);
        return true;
      }
      case 'bootstrap':
        return this.long('bootstrap', why, async () => {
          const sysid = await pg.initdb();
          await pg.start({ standby: false, upstream: null });
          await pg.waitReady(60_000);
          await pg.ensureRoles();
          await store.initialize(sysid, signal());
          await this.event('bootstrapped', `initialized a new cluster (system identifier ${sysid})`);
        });
      case 'clone': {
        const from = upstreamOf(snap, a.from);
        // A copy taken from a standby (clonefrom) streams from the leader afterwards.
        const leader = upstreamOf(snap, snap?.leader?.name ?? a.from);
        return this.long('clone', why, async () => {
          const copied = await this.cloneFrom(from, true);
          await this.startPg('standby', leader);
          await this.event('cloned', `cloned ${copied} from ${a.from}; started as a standby of ${leader.name}`);
          this.d.callbacks?.fire('on_start', 'standby');
        });
      }
      case 'rewind': {
        const from = upstreamOf(snap, a.from);
        return this.long('rewind', why, async () => {
          // Not ready is not a failure of pg_rewind: retry next cycle rather than re-clone.
          await pg.checkRewindSource(from);
          if (pg.postmasterPid() !== null) await pg.stop('fast');
          try {
            const result = await pg.rewind(from);
            await this.event('rewound', result === 'not_needed' ? `no rewind needed to follow ${a.from}` : `rewound to follow ${a.from}`);
            await this.startPg('standby', from);
            // pg_rewind judges from the control file; WAL received beyond the fork can still leave
            // a data directory whose checkpoint record cannot be read. Only a start proves it.
            if (!(await this.startsUp(REWOUND_START_MS))) throw new Error('PostgreSQL exited while starting on the rewound data directory');
            // The slots it kept as a primary hold positions of its old timeline, which would pin WAL
            // here: they go, and the next slot sync makes them again from where the members are.
            const { dropped } = await pg.ensureSlots(new Map()).catch(() => ({ dropped: [] as string[] }));
            if (dropped.length) this.d.log.info({ dropped }, 'replication slots of the former primary dropped');
          } catch (err) {
            await this.event('rewind_failed', `rewinding to follow ${a.from} failed (${errorMessage(err)}); cloning again`);
            if (pg.postmasterPid() !== null) await pg.stop('immediate');
            // What failed to rewind or to start is no use to keep: the copy gets its room.
            const copied = await this.cloneFrom(from, false);
            await this.event('cloned', `cloned ${copied} again from ${a.from}`);
            await this.startPg('standby', from);
          }
          // It ran as a primary (that is why it rewinds): now it is a standby.
          this.d.callbacks?.fire('on_start', 'standby');
          this.d.callbacks?.fire('on_role_change', 'standby');
        });
      }
      case 'start': {
        const upstream = a.upstream === null ? null : upstreamOf(snap, a.upstream);
        const crashed = v.local.downSince !== null;
        await this.startPg(a.as, upstream);
        await this.event(crashed ? 'restarted' : 'started', why);
        this.d.callbacks?.fire('on_start', a.as);
        return true;
      }
      case 'promote':
        await pg.promote(30_000);
        await this.event('promoted', why);
        this.d.callbacks?.fire('on_role_change', 'primary');
        if (snap) await this.syncSlots(snap, false);
        return true;
      case 'fence':
        // Not a stop on purpose: the next view sees a crashed primary, which waits for a new leader.
        await pg.kill();
        await this.event('fenced', why);
        this.d.callbacks?.fire('on_stop', v.local.role);
        return true;
      case 'demote':
        this.stoppedOnPurpose = true;
        await pg.stop(a.mode === 'graceful' ? 'fast' : 'immediate');
        await this.event('demoted', why);
        this.d.callbacks?.fire('on_stop', v.local.role);
        return true;
      case 'follow':
        await pg.follow(upstreamOf(snap, a.leader));
        await this.event('following', why);
        return true;
      case 'sync_slots':
        if (snap) await this.syncSlots(snap, v.local.role === 'standby');
        // Once per agent as a primary: roles its configuration names (a monitor added later) exist.
        if (v.local.role === 'primary' && !this.rolesEnsured) {
          await pg.ensureRoles();
          this.rolesEnsured = true;
        }
        return true;
      case 'set_sync_guc':
        await pg.setSyncStandbyNames(a.value);
        await this.event('sync_standby_names', `${why}; synchronous_standby_names = '${a.value}'`);
        // The next step (if any) follows at once: commits may be waiting on a standby that is gone.
        this.d.wake();
        return true;
      case 'set_sync_record': {
        if (!(await store.setSync(a.state, a.revision, signal()))) return false;
        const members = a.state?.members ?? [];
        const what =
          a.state === null
            ? 'synchronous replication off'
            : members.length
              ? `synchronous set: ${members.join(', ')} (${a.state.mode}, ${a.state.count})`
              : 'asynchronous: no eligible standby (synchronous_mode_strict is off)';
        if ((snap?.sync?.value.members ?? []).join() !== members.join()) await this.event('sync_set', what);
        this.d.wake();
        return true;
      }
      case 'publish_optime': {
        const lsn = v.local.lsn;
        if (lsn === null || v.local.timeline === null) return true;
        if (lsn !== this.lastOptime) {
          await store.setOptime({ name: this.d.name, lsn, timeline: v.local.timeline }, signal());
          this.lastOptime = lsn;
        }
        return true;
      }
      case 'record_initialize': {
        const cd = await pg.controlData();
        await store.initialize(cd.sysid, signal());
        return true;
      }
      case 'start_drain':
        if (await store.updateFailover(a.request, a.revision, signal())) await this.event('switchover_draining', why);
        return true;
      case 'clear_failover':
        if (await store.clearFailover(a.revision, signal())) await this.event('failover_cleared', why);
        return true;
      case 'reap':
        if (pg.reapCrashed()) await this.event('reaped', 'PostgreSQL crashed; killed the processes it left behind');
        return true;
      case 'hold_vip':
        return this.holdVip(a.reason, run);
      case 'drop_vip':
        return this.dropVip(a.reason, run);
      case 'register': {
        const known = snap?.registry.has(this.d.name) ?? true;
        await store.register(a.registration, signal());
        if (!known) await this.event('node_added', `joined the cluster as member ${a.registration.id} (${a.registration.host}:${a.registration.port})`);
        return true;
      }
      case 'publish_member':
        await store.putMember(this.memberStatus(v.local, why, this.d.vip ? { address: this.d.vip.address.address, held: run.vipHeld === true } : null), signal());
        return true;
    }
  }

  private memberStatus(l: LocalState, message: string, vip: MemberStatus['vip']): MemberStatus {
    return {
      name: this.d.name,
      role: l.dataDir === 'valid' ? l.role : 'unknown',
      state: memberState(l, this.inFlight?.kind ?? null),
      timeline: l.timeline,
      lsn: l.lsn,
      replayed_lsn: l.replayedLsn,
      upstream: l.role === 'standby' ? l.upstream : null,
      streaming: l.streaming,
      disk_full: l.diskFullSince !== null,
      vip,
      clone: this.copy,
      message,
      updated_at_ms: this.d.clock.wall(),
    };
  }

  /**
   * Refreshes the leader key, retrying for up to retry_timeout. Lease validity counts from when
   * the successful call was *sent*, so it can only err on the safe side.
   */
  private async refresh(run: Run): Promise<boolean> {
    const { store, config, clock } = this.d;
    const deadline = clock.now() + config.retryTimeoutMs;
    let lastError = '';
    while (clock.now() < deadline) {
      const sent = clock.now();
      try {
        const ok = await store.refreshLeader(this.d.name, deadlineSignal(Math.max(50, deadline - sent)));
        run.lease = ok ? { mine: true, validUntil: sent + config.ttlMs, lastAttemptFailed: false } : { mine: false, validUntil: run.lease.validUntil, lastAttemptFailed: true };
        if (ok) this.guardLease(run.lease);
        return ok;
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        lastError = err.message;
        await clock.sleep(Math.min(250, Math.max(0, deadline - clock.now())));
      }
    }
    run.lease = { mine: false, validUntil: run.lease.validUntil, lastAttemptFailed: true };
    throw new StoreUnavailableError(`could not refresh the leader lock within retry_timeout: ${lastError}`);
  }

  private async holdVip(reason: string, run: Run): Promise<boolean> {
    const vip = this.d.vip;
    if (!vip) return true;
    try {
      await vip.add();
    } catch (err) {
      await this.event('vip_failed', `could not add ${vip.cidr()} to ${vip.address.interface}: ${errorMessage(err)}`);
      throw err;
    }
    run.vipHeld = true;
    await this.event('vip_added', `added ${vip.cidr()} to ${vip.address.interface}: ${reason}`);
    return true;
  }

  /** Never fails the decision: a demotion or a release must not wait on an interface. */
  private async dropVip(reason: string, run: Run): Promise<boolean> {
    const vip = this.d.vip;
    if (!vip) return true;
    try {
      const removed = await vip.remove();
      run.vipHeld = false;
      if (removed) await this.event('vip_removed', `removed ${vip.cidr()} from ${vip.address.interface}: ${reason}`);
    } catch (err) {
      await this.event('vip_failed', `could not remove ${vip.cidr()} from ${vip.address.interface}: ${errorMessage(err)}`);
    }
    return true;
  }

  /** Whether a just-started postmaster comes up rather than exiting; still starting after `ms` counts as up. */
  private async startsUp(ms: number): Promise<boolean> {
    return this.d.pg.waitReady(ms).then(
      () => true,
      () => this.d.pg.postmasterPid() !== null,
    );
  }

  /** Hands a renewed lease to the guard, which stops the primary if no renewal follows in time. */
  private guardLease(lease: Lease): void {
    this.d.pg.armLease(lease.validUntil - Math.min(GUARD_MARGIN_MS, this.d.config.ttlMs / 4));
  }

  private async startPg(as: 'primary' | 'standby', upstream: Upstream | null): Promise<void> {
    this.stoppedOnPurpose = false;
    await this.d.pg.start({ standby: as === 'standby', upstream });
  }

  /**
   * A slot for every other member. A standby also moves each up to where that member has got
   * (positions from the store), so a slot kept for after a promotion does not pin WAL here.
   */
  private async syncSlots(snap: ClusterSnapshot, asStandby: boolean): Promise<void> {
    const wanted = new Map<string, Lsn | null>();
    for (const n of snap.registry.keys()) {
      if (n === this.d.name) continue;
      const m = snap.members.get(n);
      const got = [m?.lsn, m?.replayed_lsn].filter((l): l is Lsn => l !== null && l !== undefined);
      wanted.set(slotName(n), asStandby && got.length ? got.reduce((a, b) => (a < b ? a : b)) : null);
    }
    const { created, dropped } = await this.d.pg.ensureSlots(wanted);
    if (created.length || dropped.length) this.d.log.info({ created, dropped }, 'replication slots synced');
  }

  /**
   * pg_basebackup into our data directory, its progress published (status, log every few seconds,
   * the decision sentence); returns what it copied, e.g. "2.0 GB in 24 s (85 MB/s)".
   */
  private async cloneFrom(from: Upstream, keepOld: boolean): Promise<string> {
    const started = this.d.clock.now();
    let logged = started;
    this.copy = { from: from.name, done_bytes: 0, total_bytes: 0, rate_bytes_s: 0, elapsed_s: 0 };
    const onProgress = (p: CloneProgress) => {
      const now = this.d.clock.now();
      const elapsed = (now - started) / 1000;
      const done = p.doneKb * 1024;
      this.copy = { from: from.name, done_bytes: done, total_bytes: p.totalKb * 1024, rate_bytes_s: elapsed > 0 ? Math.round(done / elapsed) : 0, elapsed_s: Math.round(elapsed) };
      if (this.inFlight) this.inFlight = { ...this.inFlight, progress: copyText(this.copy) };
      if (now - logged >= CLONE_LOG_EVERY_MS) {
        logged = now;
        this.d.log.info({ from: from.name, done_bytes: done, total_bytes: this.copy.total_bytes }, `cloning from ${from.name}: ${copyText(this.copy)}`);
      }
    };
    try {
      await this.d.pg.clone(from, slotName(this.d.name), onProgress, keepOld);
      const seconds = (this.d.clock.now() - started) / 1000;
      const bytes = this.copy.total_bytes || this.copy.done_bytes;
      return `${mb(bytes)} in ${seconds.toFixed(1)} s (${mb(bytes / Math.max(seconds, 0.001))}/s)`;
    } finally {
      this.copy = null;
    }
  }

  /** Starts a long action in the background; the loop sees it as InFlight until it ends. */
  private long(kind: InFlightKind, why: string, body: () => Promise<void>): boolean {
    this.inFlight = { kind, startedAt: this.d.clock.now(), progress: '' };
    void this.event(kind, why);
    // Success re-runs the loop at once; a failure waits for the next tick so a retry is paced.
    void body().then(
      () => {
        this.inFlight = null;
        this.d.wake();
      },
      async (err) => {
        this.inFlight = null;
        await this.event(`${kind}_failed`, `${kind} failed: ${errorMessage(err)}`);
      },
    );
    return true;
  }
}

function memberState(l: LocalState, inFlight: InFlightKind | null): MemberState {
  if (inFlight) return ({ bootstrap: 'bootstrapping', clone: 'cloning', rewind: 'rewinding' } as const)[inFlight];
  if (l.postmaster === 'running') return 'running';
  if (l.postmaster === 'starting') return 'starting';
  return l.downSince !== null ? 'crashed' : 'stopped';
}

const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;

/** "1200.0 MB of 2048.0 MB (58%), 85.0 MB/s" */
function copyText(c: CloneStatus): string {
  const pct = c.total_bytes > 0 ? ` (${Math.floor((100 * c.done_bytes) / c.total_bytes)}%)` : '';
  return `${mb(c.done_bytes)} of ${mb(c.total_bytes)}${pct}, ${mb(c.rate_bytes_s)}/s`;
}

function upstreamOf(snap: ClusterSnapshot | null, name: string): Upstream {
  const reg = snap?.registry.get(name);
  if (!reg) throw new Error(`member ${name} is not registered`);
  return { name, host: reg.host, port: reg.port };
}
