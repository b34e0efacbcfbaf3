/**
 * The HA loop: observe -> decide -> log(message) -> execute -> publish -> wait (loop_wait, a store
 * watch event, or a wakeup from the executor or a postmaster exit).
 */
import type { Tags } from '../config/schema.js';
import type { PgController, SqlStatus } from '../postgres/controller.js';
import type { StateStore } from '../store/store.js';
import type { MemberState, MemberStatus, Registration } from '../store/types.js';
import type { Clock } from '../util/clock.js';
import { deadlineSignal } from '../util/deadline.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { formatLsn } from '../util/lsn.js';
import type { Decision } from './actions.js';
import type { SyncMode } from './sync.js';
import { decide } from './decide.js';
import { Executor, type AgentState } from './execute.js';
import { loadCluster, probeLocal, probePeers, type PeerReport } from './observe.js';
import type { HaConfig, InFlight, LocalState, View } from './view.js';

export interface AgentOptions {
  readonly name: string;
  /** Fixed id from the config; otherwise one is assigned at registration. */
  readonly id: number | undefined;
  readonly config: HaConfig;
  readonly store: StateStore;
  readonly pg: PgController;
  readonly clock: Clock;
  readonly log: Logger;
  /** Where peers and the CLI reach this node. */
  readonly registration: Omit<Registration, 'id'>;
}

/** What the API shows of the agent: the last view and decision. */
export interface AgentStatus {
  readonly name: string;
  readonly view: View | null;
  readonly decision: Decision | null;
  readonly sql: SqlStatus | null;
  readonly isLeader: boolean;
}

export class Agent {
  private readonly state: AgentState = { lease: { mine: false, validUntil: 0, lastAttemptFailed: false }, inFlight: null, stoppedOnPurpose: false, lastOptime: null };
  private readonly executor: Executor;
  private readonly abort = new AbortController();
  private wakeUp: (() => void) | null = null;
  private wakePending = false;
  private loopDone: Promise<void> | null = null;
  private registered = false;
  private seenRunning = false;
  private downSince: number | null = null;
  private notStreamingSince: number | null = null;
  private noReplicaSince: number | null = null;
  private last: { view: View; decision: Decision; sql: SqlStatus | null } | null = null;
  /** The SQL status read by the cycle in progress (the API's /replica needs it). */
  private lastSql: SqlStatus | null = null;

  constructor(private readonly o: AgentOptions) {
    this.executor = new Executor({ name: o.name, config: o.config, store: o.store, pg: o.pg, clock: o.clock, log: o.log, state: this.state, wake: () => this.wake() });
    // React to a postmaster exit at once, but pace a crash loop to one restart per loop_wait.
    let lastExitWake = -Infinity;
    o.pg.onExit = () => {
      if (o.clock.now() - lastExitWake < o.config.loopWaitMs) return;
      lastExitWake = o.clock.now();
      this.wake();
    };
  }

  start(): void {
    this.o.pg.prepare();
    this.loopDone = this.loop();
    void this.watch();
  }

  /** Re-runs the loop now, or right after the cycle in progress (a wakeup is never lost). */
  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.wakePending = true;
  }

  status(): AgentStatus {
    const lease = this.state.lease;
    const isLeader = lease.mine && this.o.clock.now() < lease.validUntil;
    return { name: this.o.name, view: this.last?.view ?? null, decision: this.last?.decision ?? null, sql: this.last?.sql ?? null, isLeader };
  }

  /** The long action running now (clone, rewind, bootstrap) with its progress, or null. */
  inFlight(): InFlight | null {
    return this.state.inFlight;
  }

  /** The live report peers read during an election: asks PostgreSQL now, not a cycle ago. */
  async report(): Promise<PeerReport> {
    const probe = await probeLocal(this.o.pg, 1000);
    const s = probe.state;
    return { name: this.o.name, running: s.postmaster === 'running', role: s.postmaster === 'running' ? s.role : null, lsn: s.lsn === null ? null : formatLsn(s.lsn), timeline: s.timeline, streaming: s.streaming, tags: this.o.config.tags };
  }

  /** Ends the HA loop (PostgreSQL and the lock are left as they are). Idempotent. */
  async halt(): Promise<void> {
    this.abort.abort();
    this.wake();
    await this.loopDone;
  }

  /**
   * Stops the loop. `stopPostgres`: stop the instance cleanly too (and give up the lock with the
   * final position). Without it, PostgreSQL keeps running and the lock expires after the TTL:
   * what an agent crash looks like to the cluster.
   */
  async stop(opts: { stopPostgres: boolean; revoke: boolean }): Promise<void> {
    await this.halt();
    if (opts.stopPostgres && this.o.pg.postmasterPid() !== null) await this.o.pg.stop('fast');
    if (opts.stopPostgres && this.state.lease.mine && this.last) {
      await this.executor.run({ actions: [{ type: 'release_leader' }], message: 'shutting down: PostgreSQL stopped cleanly, handing the lock over' }, this.last.view);
    }
    await this.o.pg.close();
    await this.o.store.close({ revoke: opts.revoke });
  }

  private async loop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        await this.cycle();
      } catch (err) {
        this.o.log.error({ err: errorMessage(err) }, 'unexpected error in the HA loop, please report it');
      }
      if (this.abort.signal.aborted) break;
      if (this.wakePending) {
        this.wakePending = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.o.config.loopWaitMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = null;
    }
  }

  private async cycle(): Promise<void> {
    const view = await this.observe();
    const dec = decide(view);
    if (dec.message !== this.last?.decision.message) this.o.log.info({ actions: dec.actions.map((a) => a.type) }, dec.message);
    this.last = { view, decision: dec, sql: this.lastSql };
    if (this.abort.signal.aborted) return;
    const result = await this.executor.run(dec, view);
    if (!result.ok) this.o.log.debug(result.failed, 'decision stopped early');
    if (view.cluster.kind === 'snapshot') await this.publish(view, dec).catch((err) => this.o.log.debug({ err: errorMessage(err) }, 'publishing member status failed'));
  }

  private async observe(): Promise<View> {
    const { config } = this.o;
    const [cluster, probe] = await Promise.all([loadCluster(this.o.store, config.retryTimeoutMs), probeLocal(this.o.pg, Math.min(2000, config.retryTimeoutMs))]);
    const now = this.o.clock.now();
    this.lastSql = probe.sql;
    const s = probe.state;
    if (s.postmaster === 'running') {
      this.seenRunning = true;
      this.downSince = null;
    } else if (s.postmaster === 'stopped' && this.seenRunning && !this.state.stoppedOnPurpose && this.state.inFlight === null) {
      // A crash: make sure no orphaned backend of it survives, and remember since when.
      if (this.downSince === null && this.o.pg.reapCrashed()) this.o.log.warn('postgres crashed; killed its remaining processes');
      this.downSince ??= now;
    }
    if (s.postmaster === 'running' && s.role === 'standby' && !s.streaming) this.notStreamingSince ??= now;
    else this.notStreamingSince = null;
    if (s.postmaster === 'running' && s.role === 'primary' && !s.replicas.some((r) => r.state === 'streaming')) this.noReplicaSince ??= now;
    else this.noReplicaSince = null;
    const local: LocalState = { ...s, downSince: this.downSince, notStreamingSince: this.notStreamingSince, noReplicaSince: this.noReplicaSince };
    const peers = cluster.kind === 'snapshot' && cluster.leader === null && s.postmaster === 'running' ? await probePeers(cluster, this.o.name, Math.min(2000, config.retryTimeoutMs)) : new Map();
    if (cluster.kind === 'snapshot' && !this.registered) await this.register(cluster).catch(() => {});
    return { self: this.o.name, now, wallNow: Date.now(), config, cluster, local, lease: this.state.lease, peers, inFlight: this.state.inFlight };
  }

  private async register(c: { registry: ReadonlyMap<string, Registration> }): Promise<void> {
    const existing = c.registry.get(this.o.name);
    const id = this.o.id ?? existing?.id ?? Math.max(0, ...[...c.registry.values()].map((r) => r.id)) + 1;
    await this.o.store.register({ ...this.o.registration, id }, deadlineSignal(this.o.config.retryTimeoutMs));
    this.registered = true;
  }

  private async publish(view: View, dec: Decision): Promise<void> {
    const l = view.local;
    const status: MemberStatus = {
      name: this.o.name,
      role: l.dataDir === 'valid' ? l.role : 'unknown',
      state: memberState(l, this.state.inFlight?.kind ?? null),
      timeline: l.timeline,
      lsn: l.lsn === null ? null : formatLsn(l.lsn),
      replayed_lsn: l.replayedLsn === null ? null : formatLsn(l.replayedLsn),
      upstream: l.role === 'standby' ? l.upstream : null,
      streaming: l.streaming,
      message: dec.message,
      updated_at: new Date().toISOString(),
    };
    await this.o.store.putMember(status, deadlineSignal(this.o.config.retryTimeoutMs));
  }

  /** Wakes the loop on the keys that call for a reaction; member chatter waits for the timer. */
  private async watch(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        for await (const change of this.o.store.watch(this.abort.signal)) {
          if (change.kind !== 'member' && change.kind !== 'event' && change.kind !== 'optime' && change.kind !== 'registration') this.wake();
        }
      } catch (err) {
        this.o.log.debug({ err: errorMessage(err) }, 'watch ended; reopening');
      }
      await this.o.clock.sleep(this.o.config.loopWaitMs, this.abort.signal).catch(() => {});
    }
  }
}

function memberState(l: LocalState, inFlight: 'bootstrap' | 'clone' | 'rewind' | null): MemberState {
  if (inFlight) return ({ bootstrap: 'bootstrapping', clone: 'cloning', rewind: 'rewinding' } as const)[inFlight];
  if (l.postmaster === 'running') return 'running';
  if (l.postmaster === 'starting') return 'starting';
  return l.downSince !== null ? 'crashed' : 'stopped';
}

export function haConfigFrom(cfg: {
  loop_wait: number; ttl: number; retry_timeout: number; maximum_lag_on_failover: number; primary_start_timeout: number; tags: Tags;
  synchronous_mode: SyncMode; synchronous_node_count: number; synchronous_mode_strict: boolean;
}): HaConfig {
  return {
    loopWaitMs: cfg.loop_wait * 1000,
    ttlMs: cfg.ttl * 1000,
    retryTimeoutMs: cfg.retry_timeout * 1000,
    maximumLagOnFailover: BigInt(cfg.maximum_lag_on_failover),
    primaryStartTimeoutMs: cfg.primary_start_timeout * 1000,
    tags: cfg.tags,
    sync: { mode: cfg.synchronous_mode, count: cfg.synchronous_node_count, strict: cfg.synchronous_mode_strict },
  };
}
