/**
 * I/O: performs a decision's actions in order and stops at the first failure or lost
 * compare-and-set. Long actions (bootstrap, clone, rewind) run in the background as InFlight so the
 * loop keeps refreshing the lock meanwhile. Every role change becomes an event in the store.
 */
import { slotName, type PgController, type Upstream } from '../postgres/controller.js';
import type { StateStore } from '../store/store.js';
import type { ClusterSnapshot } from '../store/types.js';
import type { Clock } from '../util/clock.js';
import { deadlineSignal } from '../util/deadline.js';
import { StoreUnavailableError, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { formatLsn } from '../util/lsn.js';
import type { Action, Decision } from './actions.js';
import type { HaConfig, InFlight, InFlightKind, Lease, View } from './view.js';

/** State the executor changes and the next observe() reads. */
export interface AgentState {
  lease: Lease;
  inFlight: InFlight | null;
  /** We stopped PostgreSQL on purpose (demote); its absence is not a crash. */
  stoppedOnPurpose: boolean;
  lastOptime: string | null;
}

export interface ExecutorDeps {
  readonly name: string;
  readonly config: HaConfig;
  readonly store: StateStore;
  readonly pg: PgController;
  readonly clock: Clock;
  readonly log: Logger;
  readonly state: AgentState;
  /** Re-run the loop now (a long action ended, a CAS was lost). */
  readonly wake: () => void;
}

export interface ExecResult {
  readonly ok: boolean;
  readonly failed?: { readonly action: Action['type']; readonly error: string };
}

export class Executor {
  constructor(private readonly d: ExecutorDeps) {}

  async run(dec: Decision, view: View): Promise<ExecResult> {
    for (const action of dec.actions) {
      try {
        const ok = await this.perform(action, view, dec.message);
        if (!ok) return { ok: false, failed: { action: action.type, error: 'compare-and-set lost' } };
      } catch (err) {
        this.d.log.warn({ action: action.type, err: errorMessage(err) }, 'action failed');
        return { ok: false, failed: { action: action.type, error: errorMessage(err) } };
      }
    }
    return { ok: true };
  }

  /** Records an event in the store (best effort: the log line is the fallback). */
  async event(kind: string, message: string): Promise<void> {
    this.d.log.info({ event: kind }, message);
    await this.d.store.appendEvent({ at: new Date().toISOString(), node: this.d.name, kind, message }, deadlineSignal(this.d.config.retryTimeoutMs)).catch(() => {});
  }

  private async perform(a: Action, v: View, why: string): Promise<boolean> {
    const { store, pg, state, config } = this.d;
    const snap = v.cluster.kind === 'snapshot' ? v.cluster : null;
    const signal = () => deadlineSignal(config.retryTimeoutMs);
    switch (a.type) {
      case 'acquire_leader': {
        const sent = this.d.clock.now();
        const ok = await store.acquireLeader(this.d.name, signal());
        state.lease = { mine: ok, validUntil: ok ? sent + config.ttlMs : 0, lastAttemptFailed: false };
        if (ok) await this.event('leader_acquired', why);
        else this.d.wake();
        return ok;
      }
      case 'refresh_leader':
        return this.refresh();
      case 'release_leader': {
        const cd = pg.dataDirState() === 'valid' && pg.postmasterPid() === null ? await pg.controlData().catch(() => null) : null;
        const final = cd && cd.state === 'shut down' ? { name: this.d.name, lsn: formatLsn(cd.checkpointLsn), timeline: cd.timeline } : undefined;
        await store.releaseLeader(this.d.name, signal(), final);
        state.lease = { mine: false, validUntil: 0, lastAttemptFailed: false };
        await this.event('leader_released', why);
        return true;
      }
      case 'bootstrap':
        return this.long('bootstrap', why, async () => {
          const sysid = await pg.initdb();
          pg.start({ standby: false, upstream: null });
          await pg.waitReady(60_000);
          await pg.ensureReplicationUser();
          await store.initialize(sysid, signal());
          await this.event('bootstrapped', `initialized a new cluster (system identifier ${sysid})`);
        });
      case 'clone': {
        const from = upstreamOf(snap, a.from);
        return this.long('clone', why, async () => {
          await pg.clone(from, slotName(this.d.name), (p) => this.progress(megabytes(p)));
          this.startPg('standby', from);
          await this.event('cloned', `cloned from ${a.from} and started as its standby`);
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
          } catch (err) {
            await this.event('rewind_failed', `pg_rewind against ${a.from} failed (${errorMessage(err)}); cloning again`);
            await pg.clone(from, slotName(this.d.name), (p) => this.progress(`re-clone ${megabytes(p)}`));
            await this.event('cloned', `cloned again from ${a.from}`);
          }
          this.startPg('standby', from);
        });
      }
      case 'start': {
        const upstream = a.upstream === null ? null : upstreamOf(snap, a.upstream);
        const crashed = v.local.downSince !== null;
        this.startPg(a.as, upstream);
        await this.event(crashed ? 'restarted' : 'started', why);
        return true;
      }
      case 'promote':
        await pg.promote(30_000);
        await this.event('promoted', why);
        if (snap) await this.syncSlots(snap);
        return true;
      case 'demote':
        state.stoppedOnPurpose = true;
        await pg.stop(a.mode === 'graceful' ? 'fast' : 'immediate');
        await this.event('demoted', why);
        return true;
      case 'follow':
        await pg.follow(upstreamOf(snap, a.leader));
        await this.event('following', why);
        return true;
      case 'sync_slots':
        if (snap) await this.syncSlots(snap);
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
        const what = a.state === null ? 'synchronous replication off' : members.length ? `synchronous set: ${members.join(', ')} (${a.state.mode}, ${a.state.count})` : 'asynchronous: no eligible standby (synchronous_mode_strict is off)';
        if ((snap?.sync?.value.members ?? []).join() !== members.join()) await this.event('sync_set', what);
        this.d.wake();
        return true;
      }
      case 'publish_optime': {
        const lsn = v.local.lsn;
        if (lsn === null || v.local.timeline === null) return true;
        const text = formatLsn(lsn);
        if (text !== state.lastOptime) {
          await store.setOptime({ name: this.d.name, lsn: text, timeline: v.local.timeline }, signal());
          state.lastOptime = text;
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
    }
  }

  /**
   * Refreshes the leader key, retrying for up to retry_timeout. Lease validity counts from when
   * the successful call was *sent*, so it can only err on the safe side.
   */
  private async refresh(): Promise<boolean> {
    const { store, state, config, clock } = this.d;
    const deadline = clock.now() + config.retryTimeoutMs;
    let lastError = '';
    while (clock.now() < deadline) {
      const sent = clock.now();
      try {
        const ok = await store.refreshLeader(this.d.name, deadlineSignal(Math.max(50, deadline - sent)));
        state.lease = ok ? { mine: true, validUntil: sent + config.ttlMs, lastAttemptFailed: false } : { mine: false, validUntil: state.lease.validUntil, lastAttemptFailed: true };
        return ok;
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        lastError = err.message;
        await clock.sleep(Math.min(250, Math.max(0, deadline - clock.now())));
      }
    }
    state.lease = { mine: false, validUntil: state.lease.validUntil, lastAttemptFailed: true };
    throw new StoreUnavailableError(`could not refresh the leader lock within retry_timeout: ${lastError}`);
  }

  private startPg(as: 'primary' | 'standby', upstream: Upstream | null): void {
    this.d.state.stoppedOnPurpose = false;
    this.d.pg.start({ standby: as === 'standby', upstream });
  }

  private async syncSlots(snap: ClusterSnapshot): Promise<void> {
    const wanted = [...snap.registry.keys()].filter((n) => n !== this.d.name).map(slotName);
    const { created, dropped } = await this.d.pg.ensureSlots(wanted);
    if (created.length || dropped.length) this.d.log.info({ created, dropped }, 'replication slots synced');
  }

  private progress(text: string): void {
    const f = this.d.state.inFlight;
    if (f) this.d.state.inFlight = { ...f, progress: text };
  }

  /** Starts a long action in the background; the loop sees it as InFlight until it ends. */
  private long(kind: InFlightKind, why: string, body: () => Promise<void>): boolean {
    this.d.state.inFlight = { kind, startedAt: this.d.clock.now(), progress: '' };
    void this.event(kind, why);
    // Success re-runs the loop at once; a failure waits for the next tick so a retry is paced.
    void body().then(
      () => {
        this.d.state.inFlight = null;
        this.d.wake();
      },
      async (err) => {
        this.d.state.inFlight = null;
        await this.event(`${kind}_failed`, `${kind} failed: ${errorMessage(err)}`);
      },
    );
    return true;
  }
}

const megabytes = (p: { doneKb: number; totalKb: number }) => `${Math.round(p.doneKb / 1024)}/${Math.round(p.totalKb / 1024)} MB`;

function upstreamOf(snap: ClusterSnapshot | null, name: string): Upstream {
  const reg = snap?.registry.get(name);
  if (!reg) throw new Error(`member ${name} is not registered`);
  return { name, host: reg.host, port: reg.port };
}
