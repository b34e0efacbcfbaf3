/**
 * A stand-in for one local PostgreSQL, for unit tests of the HA loop's I/O half (observe, execute,
 * a whole agent cycle): it keeps the state a real instance would show and records what it was
 * asked to do. Integration tests use real PostgreSQL; this only lets a unit test drive a cycle.
 */
import { EventEmitter } from 'node:events';
import type { ControlData, LocalInstance, PgControllerEvents, RunAs, SqlStatus } from '../../src/postgres/controller.js';
import { PostgresTimeoutError, PostgresUnavailableError } from '../../src/util/errors.js';
import { parseLsn } from '../../src/util/lsn.js';

export type FakeMode = 'empty' | 'stopped' | 'starting' | 'running';

export class FakeInstance extends EventEmitter<PgControllerEvents> implements LocalInstance {
  mode: FakeMode = 'running';
  inRecovery = true;
  standbySignal = true;
  lsn = parseLsn('0/3000000');
  streaming = false;
  orphans = false;
  /** Running, but answers nothing within any deadline (frozen). */
  hung = false;
  control: ControlData = { state: 'in archive recovery', timeline: 1, checkpointLsn: parseLsn('0/2000000'), sysid: '7000000000000000001' };
  runAs: RunAs | null = null;
  readonly calls: string[] = [];

  prepare(): void {}
  trustMembers(): void {}
  dataDirState(): 'empty' | 'valid' {
    return this.mode === 'empty' ? 'empty' : 'valid';
  }
  postmasterPid(): number | null {
    return this.mode === 'running' || this.mode === 'starting' ? 4242 : null;
  }
  hasOrphans(): boolean {
    return this.orphans;
  }
  reapCrashed(): boolean {
    this.calls.push('reapCrashed');
    const had = this.orphans;
    this.orphans = false;
    return had;
  }
  async controlData(): Promise<ControlData> {
    return this.control;
  }
  isConfiguredAsStandby(): boolean {
    return this.standbySignal;
  }
  async initdb(): Promise<string> {
    this.calls.push('initdb');
    return this.control.sysid;
  }
  full = false;
  diskFull(): boolean {
    return this.full;
  }
  /** The last lease deadline handed to the guard (null: disarmed). */
  guardedUntil: number | null = null;
  armLease(untilMs: number): void {
    this.guardedUntil = untilMs;
  }
  disarmLease(): void {
    this.guardedUntil = null;
  }
  /** The next start's postmaster exits at once (a data directory it cannot start on). */
  failNextStart = false;
  async start(runAs: RunAs): Promise<void> {
    this.calls.push(`start ${runAs.standby ? 'standby' : 'primary'}`);
    this.runAs = runAs;
    this.mode = this.failNextStart ? 'stopped' : 'running';
    this.failNextStart = false;
    this.inRecovery = runAs.standby;
    this.standbySignal = runAs.standby;
  }
  /** As the real one: fails at once when no postmaster runs. */
  async waitReady(): Promise<void> {
    if (this.postmasterPid() === null) throw new PostgresUnavailableError('postmaster is not running');
  }
  async stop(mode: 'fast' | 'immediate'): Promise<void> {
    this.calls.push(`stop ${mode}`);
    this.mode = 'stopped';
  }
  async kill(): Promise<void> {
    this.calls.push('kill');
    this.mode = 'stopped';
  }
  /** Whether the last status call asked for the write probe. */
  writeProbe: boolean | undefined;
  async status(_timeoutMs = 0, opts: { writeProbe?: boolean } = {}): Promise<SqlStatus> {
    this.writeProbe = opts.writeProbe;
    if (this.hung) throw new PostgresTimeoutError('did not answer within the deadline');
    if (this.mode !== 'running') throw new PostgresUnavailableError('not accepting connections');
    return {
      inRecovery: this.inRecovery,
      timeline: this.control.timeline,
      lsn: this.lsn,
      replayedLsn: this.inRecovery ? this.lsn : null,
      streaming: this.streaming,
      receiverHost: null,
      receiverPort: null,
      replication: [],
      sysid: this.control.sysid,
      syncStandbyNames: '',
      openTransactions: 0,
    };
  }
  liveStatus(): Promise<SqlStatus> {
    return this.status(0, {});
  }
  async promote(): Promise<void> {
    this.calls.push('promote');
    this.inRecovery = false;
    this.standbySignal = false;
    this.control = { ...this.control, timeline: this.control.timeline + 1 };
  }
  async setSyncStandbyNames(value: string): Promise<void> {
    this.calls.push(`sync ${value}`);
  }
  async follow(): Promise<void> {
    this.calls.push('follow');
  }
  currentRunAs(): RunAs | null {
    return this.runAs;
  }
  async clone(): Promise<void> {
    this.calls.push('clone');
  }
  async rewind(): Promise<'rewound' | 'not_needed'> {
    this.calls.push('rewind');
    return 'rewound';
  }
  async checkRewindSource(): Promise<void> {}
  async ensureRoles(): Promise<void> {}
  async ensureSlots(): Promise<{ created: string[]; dropped: string[] }> {
    return { created: [], dropped: [] };
  }
  removeDataDir(): string {
    this.calls.push('removeDataDir');
    return '/fake/data';
  }
  async close(): Promise<void> {}
}
