/**
 * The HA loop: observe -> decide -> log(message) -> execute, then one wait on the injected clock:
 * loop_wait, cut short by a store watch event, a wakeup from the executor or a postmaster exit.
 */
import type { CloneStatus } from '../util/clone-status.js';
import type { NodeReport } from '../client/node-report.js';
import type { SqlStatus } from '../postgres/controller.js';
import type { GuardFence } from '../postgres/guard-protocol.js';
import type { RejectedValue } from '../store/types.js';
import { errorMessage } from '../util/errors.js';
import type { Decision } from './actions.js';
import { decide } from './decide.js';
import type { HaDeps } from './deps.js';
import { Executor, NO_LEASE } from './execute.js';
import { Observer, probeLocal } from './observe.js';
import type { InFlight, Lease, View, WantedRegistration } from './view.js';

export interface AgentOptions extends HaDeps {
  /** Where peers and the CLI reach this node, and its fixed id if the config has one. */
  readonly registration: WantedRegistration;
}

/** What the API shows of the agent: the last view and decision. */
export interface AgentStatus {
  readonly name: string;
  readonly view: View | null;
  readonly decision: Decision | null;
  readonly sql: SqlStatus | null;
  readonly isLeader: boolean;
  /** How long the leader lock stays ours without a renewal; null when we do not hold it. */
  readonly leaseRemainingMs: number | null;
}

/**
 * Store changes that call for a reaction now; member chatter, events and optime wait for the timer.
 * A registration is one: the leader creates a new member's slot, which its base backup waits for.
 */
const WAKES_ON: ReadonlySet<string> = new Set(['initialize', 'leader', 'failover', 'sync', 'pause', 'admin', 'registration', 'other']);

export class Agent {
  private readonly executor: Executor;
  private readonly observer: Observer;
  private readonly abort = new AbortController();
  /** Aborted by wake(): cuts the wait after the cycle in progress short (a wakeup is never lost). */
  private wakeup = new AbortController();
  private lease: Lease = NO_LEASE;
  private loopDone: Promise<void> | null = null;
  private last: { view: View; decision: Decision; sql: SqlStatus | null } | null = null;
  private lastExitWake = -Infinity;
  private lastCycleEnd: number | null = null;
  /** Bad store values already reported, by key and revision. */
  private rejectedSeen: ReadonlySet<string> = new Set<string>();
  private readonly onPostmasterExit = () => {
    // React to a postmaster exit at once, but pace a crash loop to one restart per loop_wait.
    if (this.o.clock.now() - this.lastExitWake < this.o.config.loopWaitMs) return;
    this.lastExitWake = this.o.clock.now();
    this.wake();
  };

  /** The guard killed the instance while we could not renew the lease (dead, frozen or cut off). */
  private readonly onGuardFence = (f: GuardFence) => {
    const at = new Date(f.atMs).toISOString();
    const late = 'the leader lock was not renewed in time';
    if (f.killed > 0) {
      void this.executor.event('fenced', `the lease guard killed PostgreSQL (${f.killed} processes) at ${at}: ${late}`, f.atMs);
      this.o.callbacks?.fire('on_stop', 'primary');
    }
    if (f.vip !== null) void this.executor.event('vip_removed', `the lease guard removed ${f.vip} at ${at}: ${late}`, f.atMs);
    this.wake();
  };

  constructor(private readonly o: AgentOptions) {
    this.executor = new Executor({ ...o, wake: () => this.wake() });
    this.observer = new Observer(o);
    o.callbacks?.onFailure((message) => void this.executor.event('callback_failed', message));
  }

  start(): void {
    this.o.pg.prepare();
    this.o.pg.on('exit', this.onPostmasterExit);
    this.o.pg.on('fenced', this.onGuardFence);
    this.loopDone = this.loop();
    void this.watch();
  }

  /** Re-runs the loop now, or right after the cycle in progress. */
  wake(): void {
    this.wakeup.abort();
  }

  status(): AgentStatus {
    const left = this.lease.validUntil - this.o.clock.now();
    const isLeader = this.lease.mine && left > 0;
    return {
      name: this.o.name,
      view: this.last?.view ?? null,
      decision: this.last?.decision ?? null,
      sql: this.last?.sql ?? null,
      isLeader,
      leaseRemainingMs: isLeader ? left : null,
    };
  }

  /** The base backup this node is receiving, or null. */
  cloneStatus(): CloneStatus | null {
    return this.executor.cloneStatus();
  }

  /** The long action running now (clone, rewind, bootstrap) with its progress, or null. */
  inFlight(): InFlight | null {
    return this.executor.state(this.lease).inFlight;
  }

  /** The live report peers read during an election: asks PostgreSQL now, not a cycle ago. */
  async report(): Promise<NodeReport> {
    const s = (await probeLocal(this.o.pg, 1000, (ms) => this.o.pg.liveStatus(ms))).state;
    const c = this.last?.view.cluster;
    return {
      name: this.o.name,
      running: s.postmaster === 'running',
      postmaster: s.postmaster,
      role: s.postmaster === 'running' ? s.role : null,
      lsn: s.lsn,
      timeline: s.timeline,
      streaming: s.streaming,
      tags: this.o.config.tags,
      disk_full: s.diskFull,
      clone: this.executor.cloneStatus(),
      removed_at: c?.kind === 'snapshot' ? (c.removed.get(this.o.name)?.at ?? null) : null,
    };
  }

  /**
   * Deletes the data directory of this node once an operator has removed it from the cluster and
   * its PostgreSQL has stopped; returns the directory. Refuses otherwise.
   */
  async purgeRemoved(): Promise<string> {
    const c = this.last?.view.cluster;
    if (c?.kind !== 'snapshot' || !c.removed.has(this.o.name)) throw new Error(`${this.o.name} is not removed from the cluster: pgwarden node remove ${this.o.name} first`);
    if (this.o.pg.postmasterPid() !== null) throw new Error(`PostgreSQL of ${this.o.name} still runs; it stops within a loop of the removal`);
    return this.o.pg.removeDataDir();
  }

  /** Ends the HA loop (PostgreSQL and the lock are left as they are). Idempotent. */
  async halt(): Promise<void> {
    this.abort.abort();
    this.wake();
    this.o.pg.off('exit', this.onPostmasterExit);
    this.o.pg.off('fenced', this.onGuardFence);
    await this.loopDone;
  }

  /**
   * Stops the loop. `stopPostgres`: stop the instance cleanly too (and give up the lock with the
   * final position). Without it, PostgreSQL keeps running and the lock expires after the TTL:
   * what an agent crash looks like to the cluster.
   */
  async stop(opts: { stopPostgres: boolean; revoke: boolean }): Promise<void> {
    await this.halt();
    if (opts.stopPostgres && this.last?.view.vip) {
      await this.executor.run({ actions: [{ type: 'drop_vip', reason: 'shutting down' }], message: 'shutting down' }, this.last.view);
    }
    if (opts.stopPostgres && this.o.pg.postmasterPid() !== null) {
      const role = this.last?.view.local.role ?? 'standby';
      await this.o.pg.stop('fast');
      this.o.callbacks?.fire('on_stop', role);
    }
    if (opts.stopPostgres && this.lease.mine && this.last) {
      await this.executor.run({ actions: [{ type: 'release_leader' }], message: 'shutting down: PostgreSQL stopped cleanly, handing the lock over' }, this.last.view);
    }
    await this.o.pg.close();
    await this.o.store.close({ revoke: opts.revoke });
  }

  /** One cycle: observe, decide, log the sentence when it changes, execute. Unit tests drive it directly. */
  async runCycle(): Promise<Decision> {
    const started = this.o.clock.now();
    const { view, sql } = await this.observer.observe(this.executor.state(this.lease));
    const dec = decide(view);
    if (dec.message !== this.last?.decision.message) this.o.log.info({ actions: dec.actions.map((a) => a.type) }, dec.message);
    this.last = { view, decision: dec, sql };
    if (this.abort.signal.aborted) return dec;
    if (view.cluster.kind === 'snapshot') this.reportRejected(view.cluster.rejected);
    const result = await this.executor.run(dec, view);
    this.lease = result.lease;
    this.lastCycleEnd = this.o.clock.now();
    this.o.monitor?.cycle(this.lastCycleEnd - started, dec);
    if (!result.ok) this.o.log.debug(result.failed, 'decision stopped early');
    return dec;
  }

  /** How long ago the HA loop last finished a cycle (GET /liveness); null before the first. */
  sinceLastCycleMs(): number | null {
    return this.lastCycleEnd === null ? null : this.o.clock.now() - this.lastCycleEnd;
  }

  /**
   * A malformed store value is reported once per write (key and revision), then ignored. Only the
   * values still in the store are remembered, so a writer of garbage cannot grow this set.
   */
  private reportRejected(rejected: readonly RejectedValue[]): void {
    const seen = new Set<string>();
    for (const r of rejected) {
      const id = `${r.key}@${r.revision}`;
      seen.add(id);
      if (!this.rejectedSeen.has(id)) void this.executor.event('store_value_rejected', `ignoring the value of ${r.key} (revision ${r.revision}): ${r.reason}`);
    }
    this.rejectedSeen = seen;
  }

  private async loop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      const wakeup = (this.wakeup = new AbortController());
      try {
        await this.runCycle();
      } catch (err) {
        this.o.log.error({ err: errorMessage(err) }, 'unexpected error in the HA loop, please report it');
      }
      if (this.abort.signal.aborted || wakeup.signal.aborted) continue;
      await this.o.clock.sleep(this.o.config.loopWaitMs, wakeup.signal).catch(() => {});
    }
  }

  /** Wakes the loop on the keys that call for a reaction. */
  private async watch(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        for await (const change of this.o.store.watch(this.abort.signal)) if (WAKES_ON.has(change.kind)) this.wake();
      } catch (err) {
        this.o.log.debug({ err: errorMessage(err) }, 'watch ended; reopening');
      }
      await this.o.clock.sleep(this.o.config.loopWaitMs, this.abort.signal).catch(() => {});
    }
  }
}
