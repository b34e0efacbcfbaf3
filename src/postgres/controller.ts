/**
 * Controller of ONE local PostgreSQL instance: the only module that touches its data directory,
 * its processes and its SQL. It knows nothing of the store or of HA policy: callers pass plain
 * values (the upstream to follow, the slots to keep).
 */
import { EventEmitter } from 'node:events';
import { existsSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { InterfaceAddress } from '../util/ip-addr.js';
import type { Logger } from '../util/log.js';
import { waitFor } from '../util/deadline.js';
import { PostgresUnavailableError } from '../util/errors.js';
import { formatLsn, parseLsn, type Lsn } from '../util/lsn.js';
import { clone, type CloneProgress } from './clone.js';
import { digestAfter, holdTable, listDatabases, listTables } from './consistency.js';
import { readSyncStandbyNames, renderPgHba, renderPgpass, writeConfigFiles, type Upstream } from './conf.js';
import { installTls, nodePgTls, type PgTls, type PgTlsConfig } from './tls.js';
import { hasPgVersion, isAlive, readPostmasterPid, run } from './ctl.js';
import { GuardLink } from './guard-link.js';
import type { GuardFence } from './guard-protocol.js';
import { instancePids, killInstance, runsInstance, type InstanceId } from './instance-procs.js';
import { assertReachable, mkdirOwned, writeOwned, type OsUser } from './os-user.js';
import { LocalSql, type ConnParams, type SqlStatus } from './queries.js';
import { rewind } from './rewind.js';
import { scramVerifier } from './scram.js';

export type { Upstream } from './conf.js';
export type { SqlStatus } from './queries.js';

/** What pg_rewind calls on its source server (PostgreSQL's pg_rewind documentation), and our source check. */
const REWIND_FUNCTIONS = [
  'pg_catalog.pg_ls_dir(text, boolean, boolean)',
  'pg_catalog.pg_stat_file(text, boolean)',
  'pg_catalog.pg_read_binary_file(text)',
  'pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)',
  'pg_catalog.pg_control_checkpoint()',
];
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export interface PgControllerOptions {
  readonly name: string;
  readonly clusterName: string;
  readonly dataDir: string;
  readonly binDir: string;
  readonly runDir: string;
  readonly user: OsUser;
  readonly listenHost: string;
  readonly port: number;
  readonly superuser: Credentials;
  readonly replication: Credentials;
  /** The proxies' health-check role (member of pg_monitor), or null. */
  readonly monitor: Credentials | null;
  /** The role pg_rewind and its source check log in as (pg_rewind's functions only), or null: the superuser. */
  readonly rewind: Credentials | null;
  readonly parameters: Readonly<Record<string, string | number | boolean>>;
  readonly pgHba: readonly string[];
  readonly stopTimeoutMs: number;
  /** Operator's initdb options, after pgwarden's own so that e.g. --locale overrides ours. */
  readonly initdbOptions: readonly string[];
  /** A checked watchdog device for the lease guard to keep alive, or null. */
  readonly watchdog: string | null;
  /** The floating address the lease guard removes when it kills an expired primary, or null. */
  readonly vip: InterfaceAddress | null;
  /** postgresql.tls: served, and required by every connection the agent and its programs make; null: plain. */
  readonly tls: PgTlsConfig | null;
  readonly log: Logger;
}

export type DataDirState = 'empty' | 'valid';
export type StopMode = 'fast' | 'immediate';

/** How the instance is configured to run: as a primary, or as a standby of `upstream` (null = none yet). */
export interface RunAs {
  readonly standby: boolean;
  readonly upstream: Upstream | null;
}

/** pg_controldata's fields we use. */
export interface ControlData {
  readonly state: string;
  readonly timeline: number;
  readonly checkpointLsn: Lsn;
  readonly sysid: string;
}

const SIGNAL_FOR: Record<StopMode, NodeJS.Signals> = { fast: 'SIGINT', immediate: 'SIGQUIT' };
/** Below this much room (one WAL segment of the default size) the data directory's filesystem counts as full. */
const DISK_FULL_BYTES = 16 * 1024 * 1024;
/** How long an immediate shutdown may take before every process of the instance is killed. */
const IMMEDIATE_GRACE_MS = 2000;

/**
 * The events of a controller: `exit` when a postmaster we started exits (or its guard is gone), so
 * the HA loop can react at once; `fenced` when the lease guard killed the instance on its own.
 */
export interface PgControllerEvents {
  exit: [];
  fenced: [GuardFence];
}

/** What the HA loop uses of a local instance (a unit test can stand in for it). */
export type LocalInstance = Pick<
  PgController,
  | 'prepare'
  | 'trustMembers'
  | 'dataDirState'
  | 'postmasterPid'
  | 'hasOrphans'
  | 'reapCrashed'
  | 'controlData'
  | 'isConfiguredAsStandby'
  | 'initdb'
  | 'start'
  | 'waitReady'
  | 'stop'
  | 'kill'
  | 'status'
  | 'liveStatus'
  | 'promote'
  | 'setSyncStandbyNames'
  | 'follow'
  | 'currentRunAs'
  | 'clone'
  | 'rewind'
  | 'checkRewindSource'
  | 'ensureRoles'
  | 'ensureSlots'
  | 'close'
  | 'armLease'
  | 'disarmLease'
  | 'diskFull'
  | 'removeDataDir'
> & {
  on(event: 'exit', listener: () => void): unknown;
  off(event: 'exit', listener: () => void): unknown;
  on(event: 'fenced', listener: (f: GuardFence) => void): unknown;
  off(event: 'fenced', listener: (f: GuardFence) => void): unknown;
};

export class PgController extends EventEmitter<PgControllerEvents> {
  readonly passfile: string;
  readonly logFile: string;
  private readonly sql: LocalSql;
  private runAs: RunAs | null = null;
  /** synchronous_standby_names, owned by the leader's sync step; '' whenever we run as a standby. */
  private syncNames = '';
  /** The postmaster our guard spawned, until it exits. */
  private spawned: number | null = null;
  /** The lease guard: the postmaster's parent, which kills it when the lease runs out. */
  private readonly guard: GuardLink;
  /**
   * The REST API's own connection: an HTTP client can never queue work in front of the HA loop's
   * (`sql`). Concurrent API callers share the one status query in flight, so a hung PostgreSQL
   * costs at most one waiting query however fast they ask.
   */
  private readonly apiSql: LocalSql;
  private apiStatus: Promise<SqlStatus> | null = null;
  private readonly connParams: () => ConnParams;
  /** The OS user's copies of postgresql.tls (after prepare()). */
  private tls: PgTls | null = null;
  /** The member list the pgpass file was last written for. */
  private pgpassFor: string | null = null;

  constructor(private readonly o: PgControllerOptions) {
    super();
    this.passfile = join(o.runDir, 'pgpass');
    this.logFile = join(o.runDir, 'postgresql.log');
    const connectHost = o.listenHost === '*' || o.listenHost === '0.0.0.0' ? '127.0.0.1' : (o.listenHost.split(',')[0] ?? '').trim();
    this.connParams = () => ({ host: connectHost, port: o.port, user: o.superuser.username, password: o.superuser.password, ...nodePgTls(this.tls) });
    this.sql = new LocalSql(this.connParams);
    this.apiSql = new LocalSql(this.connParams);
    this.syncNames = readSyncStandbyNames(o.dataDir);
    this.guard = new GuardLink(
      {
        dataDir: o.dataDir,
        binDir: o.binDir,
        pgLog: this.logFile,
        socket: join(o.runDir, 'guard.sock'),
        guardLog: join(o.runDir, 'guard.log'),
        uid: o.user.switchTo ? o.user.uid : null,
        gid: o.user.switchTo ? o.user.gid : null,
        home: o.user.home,
        watchdog: o.watchdog,
        vip: o.vip,
      },
      o.log,
    );
    this.guard.on('exit', (pid) => {
      if (pid === null || this.spawned === pid) this.spawned = null;
      this.emit('exit');
    });
    this.guard.on('fenced', (f) => this.emit('fenced', f));
  }

  get dataDir(): string {
    return this.o.dataDir;
  }

  /**
   * Creates the run directory and the pgpass file that libpq programs and walreceiver read, and
   * attaches to the lease guard (a restarted agent finds the one that kept guarding).
   */
  prepare(): void {
    mkdirOwned(this.o.user, this.o.runDir);
    assertReachable(this.o.user, this.o.dataDir, this.o.runDir);
    if (this.o.tls) this.tls = installTls(this.o.user, this.o.runDir, this.o.tls);
    this.trustMembers([]);
    this.guard.attach().catch((err: Error) => this.o.log.error({ err: err.message }, 'cannot reach the lease guard'));
  }

  /**
   * The pgpass file libpq programs read (walreceiver, pg_basebackup, pg_rewind): passwords for the
   * registered members' host:port only. Rewritten when that list changes.
   */
  trustMembers(members: readonly { host: string; port: number }[]): void {
    const addresses = [...new Set(members.map((m) => `${m.host}\0${m.port}`))].sort();
    const key = addresses.join('\n');
    if (key === this.pgpassFor) return;
    const hosts = addresses.map((a) => {
      const [host = '', port] = a.split('\0');
      return { host, port: Number(port) };
    });
    const users = [this.o.replication, this.o.superuser, ...(this.o.rewind ? [this.o.rewind] : [])].map((c) => ({ user: c.username, password: c.password }));
    writeOwned(this.o.user, this.passfile, renderPgpass(hosts, users));
    this.pgpassFor = key;
  }

  /** The primary may run until `untilMs` (CLOCK_MONOTONIC) unless told again: the guard enforces it. */
  armLease(untilMs: number): void {
    this.guard.lease(untilMs);
  }

  /** Nothing for the guard to enforce (the lock is gone and PostgreSQL stopped). */
  disarmLease(): void {
    this.guard.disarm();
  }

  dataDirState(): DataDirState {
    return hasPgVersion(this.o.dataDir) ? 'valid' : 'empty';
  }

  /**
   * Postmaster pid when one is alive for this data directory; includes one we just spawned that
   * has not written postmaster.pid yet, so a start is never issued twice. A pid in postmaster.pid
   * counts only when that process runs this instance (runsInstance): the file is not trusted.
   */
  postmasterPid(): number | null {
    const pid = readPostmasterPid(this.o.dataDir);
    if (pid !== null && isAlive(pid) && runsInstance(pid, this.instance)) return pid;
    return this.spawned !== null && isAlive(this.spawned) ? this.spawned : null;
  }

  /**
   * The filesystem of the data directory, or of pg_wal (often a link to another one), has no room
   * left: PostgreSQL may still answer, and commit what fits in WAL it already has, but new rows and
   * new WAL segments fail. Space as the OS user sees it (bavail: root's reserve excluded).
   */
  diskFull(): boolean {
    for (const path of [this.o.dataDir, join(this.o.dataDir, 'pg_wal')]) {
      try {
        const fs = statfsSync(path);
        if (fs.bavail * fs.bsize < DISK_FULL_BYTES) return true;
      } catch {
        // not there (yet): nothing to say
      }
    }
    return false;
  }

  /** This instance's processes, as /proc shows them (instance-procs.ts). */
  private get instance(): InstanceId {
    return { dataDir: this.o.dataDir, binary: join(this.o.binDir, 'postgres') };
  }

  /**
   * Read-only: no postmaster runs, yet processes of the instance are alive (a crash left them:
   * backends setsid() and outlive it). Those orphaned backends can still commit.
   */
  hasOrphans(): boolean {
    return this.postmasterPid() === null && instancePids(this.instance).length > 0;
  }

  /**
   * With no postmaster running, kills every process the instance left behind (they could still
   * commit), before anything else happens. Returns whether there was any.
   */
  reapCrashed(): boolean {
    if (this.postmasterPid() !== null) return false;
    return killInstance(this.instance) > 0;
  }

  async controlData(): Promise<ControlData> {
    const out = await run(this.o.user, join(this.o.binDir, 'pg_controldata'), ['-D', this.o.dataDir]);
    const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(out)?.[1]?.trim() ?? '';
    return {
      state: field('Database cluster state'),
      timeline: Number(field("Latest checkpoint's TimeLineID")),
      checkpointLsn: parseLsn(field('Latest checkpoint location') || '0/0'),
      sysid: field('Database system identifier'),
    };
  }

  /** standby.signal on disk: how the instance will run at its next start. */
  isConfiguredAsStandby(): boolean {
    return existsSync(join(this.o.dataDir, 'standby.signal'));
  }

  async initdb(): Promise<string> {
    if (existsSync(this.o.dataDir) && readdirSync(this.o.dataDir).length > 0) throw new Error(`initdb: ${this.o.dataDir} is not empty`);
    mkdirOwned(this.o.user, this.o.dataDir);
    const pwfile = join(this.o.runDir, 'initdb.pw');
    writeOwned(this.o.user, pwfile, `${this.o.superuser.password}\n`);
    try {
      await run(this.o.user, join(this.o.binDir, 'initdb'), [
        '-D',
        this.o.dataDir,
        '-U',
        this.o.superuser.username,
        `--pwfile=${pwfile}`,
        '-A',
        'scram-sha-256',
        '-E',
        'UTF8',
        '--locale=C',
        ...this.o.initdbOptions,
      ]);
    } finally {
      rmSync(pwfile, { force: true });
    }
    return (await this.controlData()).sysid;
  }

  /**
   * Writes the configuration for `runAs` and has the guard spawn the postmaster (a standby start
   * also disarms the guard); does not wait for it to accept connections.
   */
  async start(runAs: RunAs): Promise<void> {
    this.reapCrashed();
    this.writeConfig(runAs);
    const pid = await this.guard.start(runAs.standby);
    this.spawned = pid;
    this.o.log.info({ pid, standby: runAs.standby, upstream: runAs.upstream?.name ?? null }, 'postgres started');
  }

  /** Resolves once the instance accepts connections. */
  /** Waits until PostgreSQL accepts connections; fails at once if the postmaster exits meanwhile. */
  async waitReady(timeoutMs: number): Promise<void> {
    const state = await waitFor(
      'PostgreSQL to accept connections',
      async () => {
        if (this.postmasterPid() === null) return 'exited';
        await this.sql.query('SELECT 1', [], 1000);
        return 'ready';
      },
      { timeoutMs, intervalMs: 100 },
    );
    if (state === 'exited') throw new PostgresUnavailableError('postmaster is not running');
  }

  /**
   * Stops the instance: `fast` (clean, every connected standby receives the shutdown checkpoint)
   * escalating to `immediate` after the stop timeout; an immediate shutdown that has not ended
   * within IMMEDIATE_GRACE_MS becomes a kill of every process of the instance (frozen or hung on
   * I/O). Leftover processes are killed too.
   */
  async stop(mode: StopMode): Promise<void> {
    await this.closeSql();
    const pid = this.postmasterPid();
    if (pid === null) {
      this.reapCrashed();
      return;
    }
    const gone = () => !isAlive(pid);
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(pid, sig);
      } catch {
        // exited meanwhile
      }
    };
    const exited = (ms: number, what: string) =>
      waitFor(`postmaster ${pid} to stop (${what})`, gone, { timeoutMs: ms, intervalMs: 50 }).then(
        () => true,
        () => false,
      );
    signal(SIGNAL_FOR[mode]);
    // A clean stop may take stop_timeout (the shutdown checkpoint); an immediate one takes a moment,
    // so a postmaster still there after IMMEDIATE_GRACE_MS is stuck (frozen, or hung on I/O).
    if (!(await exited(mode === 'fast' ? this.o.stopTimeoutMs : IMMEDIATE_GRACE_MS, mode)) && mode === 'fast') {
      this.o.log.warn({ pid }, 'postgres did not stop cleanly in time; stopping immediately');
      signal('SIGQUIT');
      await exited(IMMEDIATE_GRACE_MS, 'immediate');
    }
    if (!gone()) {
      this.o.log.warn({ pid }, 'postgres did not stop with an immediate shutdown; killing every process of the instance');
      await this.killAll(pid).catch(() => {});
    }
    killInstance(this.instance);
    this.o.log.info({ mode }, 'postgres stopped');
  }

  /**
   * Fencing a hung instance: SIGKILL to every process at once (an immediate shutdown would wait on
   * a postmaster that does not run), then waits until the postmaster is gone.
   */
  async kill(): Promise<void> {
    await this.closeSql();
    const pid = this.postmasterPid();
    await this.killAll(pid);
    this.o.log.warn({ pid }, 'postgres killed (fenced)');
  }

  /** SIGKILL to every process of the instance; resolves once `pid` (the postmaster) is gone, rejects if it is not within 10 s. */
  private async killAll(pid: number | null): Promise<void> {
    killInstance(this.instance);
    if (pid !== null) await waitFor(`postmaster ${pid} to die`, () => !isAlive(pid), { timeoutMs: 10_000, intervalMs: 20 });
  }

  /**
   * The HA loop's view of the instance. With `writeProbe`, a primary must also commit within the
   * deadline: health is a committed write, not "the port answers" (a stuck WAL device answers
   * reads but commits nothing). The caller asks for it only while it holds the leader lock: a
   * probe committed by a primary cut off from its standbys would make its WAL diverge from them
   * for nothing, and cost a pg_rewind when it rejoins.
   */
  async status(timeoutMs: number, opts: { writeProbe?: boolean } = {}): Promise<SqlStatus> {
    const deadline = performance.now() + timeoutMs;
    const s = await this.sql.status(timeoutMs);
    if (opts.writeProbe && !s.inRecovery) await this.sql.query('SELECT txid_current()', [], Math.max(100, deadline - performance.now()));
    return s;
  }

  /** The status for the REST API, on its own connection; never delays the HA loop's queries. */
  liveStatus(timeoutMs: number): Promise<SqlStatus> {
    this.apiStatus ??= this.apiSql.status(timeoutMs).finally(() => {
      this.apiStatus = null;
    });
    return this.apiStatus;
  }

  /**
   * Promotes and waits for the end of recovery. Then requests a checkpoint in the background:
   * until the first checkpoint on the new timeline, pg_control still names the old one, and a
   * pg_rewind of the old primary against us would wrongly find "no rewind required".
   */
  async promote(timeoutMs: number): Promise<void> {
    const { rows } = await this.sql.query('SELECT pg_promote(true, $1) AS ok', [Math.ceil(timeoutMs / 1000)], timeoutMs + 1000);
    if (!rows[0]?.ok) throw new Error('pg_promote did not complete in time');
    this.writeConfig({ standby: false, upstream: null });
    // On a connection of its own: a long checkpoint must not hold up the HA loop's queries.
    const background = new LocalSql(this.connParams);
    void background
      .query('CHECKPOINT', [], 600_000)
      .catch((err) => this.o.log.warn({ err: String(err) }, 'checkpoint after promotion failed'))
      .finally(() => background.close());
  }

  /**
   * Sets synchronous_standby_names on the running primary: rewrites and reloads the setting (no
   * restart), and returns once PostgreSQL runs with it (the next sync step relies on that).
   */
  async setSyncStandbyNames(value: string): Promise<void> {
    this.syncNames = value;
    this.writeConfig(this.runAs ?? { standby: false, upstream: null });
    await this.sql.query('SELECT pg_reload_conf()');
    // Backends (ours too) pick a reload up asynchronously, after the postmaster signals them.
    await waitFor(
      `synchronous_standby_names = '${value}' in force`,
      async () => (await this.sql.query<{ v: string }>("SELECT current_setting('synchronous_standby_names') AS v")).rows[0]?.v === value,
      { timeoutMs: 5000, intervalMs: 10 },
    );
    // Waiting commits are released when a standby's reply is processed under the new setting, and
    // an idle standby replies only every wal_receiver_status_interval: a commit of our own (which
    // does not wait) makes every standby reply at once.
    if (value !== '') await this.sql.query('BEGIN; SET LOCAL synchronous_commit = local; SELECT txid_current(); COMMIT');
  }

  /**
   * Points a running standby at `upstream`. primary_conninfo is reloadable since PostgreSQL 13,
   * so a reload is enough; a running primary needs a restart to become a standby (the caller's job).
   */
  async follow(upstream: Upstream | null): Promise<void> {
    this.writeConfig({ standby: true, upstream });
    await this.sql.query('SELECT pg_reload_conf()');
  }

  currentRunAs(): RunAs | null {
    return this.runAs;
  }

  /** `keepOld` false: the current data directory cannot start, so it is deleted before the copy. */
  async clone(from: Upstream, slot: string | null, onProgress?: (p: CloneProgress) => void, keepOld = true): Promise<void> {
    await clone({
      keepOld,
      user: this.o.user,
      binDir: this.o.binDir,
      dataDir: this.o.dataDir,
      from,
      replicationUser: this.o.replication.username,
      replicationPassword: this.o.replication.password,
      passfile: this.passfile,
      tls: this.tls,
      slot,
      onProgress,
    });
  }

  private get rewindRole(): Credentials {
    return this.o.rewind ?? this.o.superuser;
  }

  async rewind(from: Upstream): Promise<'rewound' | 'not_needed'> {
    return rewind({ user: this.o.user, binDir: this.o.binDir, dataDir: this.o.dataDir, from, role: this.rewindRole.username, passfile: this.passfile, tls: this.tls });
  }

  /**
   * pg_rewind trusts the source's pg_control timeline; right after a promotion it may still be the
   * old one. Refuse (the caller retries next cycle) until the source has checkpointed.
   */
  async checkRewindSource(from: Upstream): Promise<void> {
    const client = new pg.Client({
      host: from.host,
      port: from.port,
      user: this.rewindRole.username,
      password: this.rewindRole.password,
      database: 'postgres',
      connectionTimeoutMillis: 3000,
      ...nodePgTls(this.tls),
    });
    client.on('error', () => {});
    try {
      await client.connect();
      const { rows } = await client.query(`SELECT (SELECT timeline_id FROM pg_control_checkpoint()) AS checkpoint_tli,
        ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int AS current_tli`);
      const r = rows[0];
      if (Number(r.checkpoint_tli) < Number(r.current_tli)) {
        throw new Error(`${from.name} has not checkpointed on its new timeline ${r.current_tli} yet; rewind would miss the fork`);
      }
    } finally {
      await client.end().catch(() => {});
    }
  }

  /**
   * Creates (or re-keys) the replication role and, when configured, the monitoring role the
   * proxies' health checks log in as (pg_monitor: enough to see recovery, WAL positions and the
   * WAL receiver) and the rewind role (the functions pg_rewind calls on its source, as PostgreSQL
   * documents them, and the checkpoint timeline the source check reads). Passwords travel as SCRAM
   * verifiers only.
   */
  async ensureRoles(): Promise<void> {
    const upsert = async (c: Credentials, options: string) => {
      const { rows } = await this.sql.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [c.username]);
      await this.sql.query(`${rows.length ? 'ALTER' : 'CREATE'} ROLE "${c.username}" WITH ${options} LOGIN PASSWORD '${scramVerifier(c.password)}'`);
    };
    await upsert(this.o.replication, 'REPLICATION');
    if (this.o.monitor) {
      await upsert(this.o.monitor, 'NOSUPERUSER');
      await this.sql.query(`GRANT pg_monitor TO "${this.o.monitor.username}"`);
    }
    if (this.o.rewind) {
      await upsert(this.o.rewind, 'NOSUPERUSER');
      for (const fn of REWIND_FUNCTIONS) await this.sql.query(`GRANT EXECUTE ON FUNCTION ${fn} TO "${this.o.rewind.username}"`);
    }
  }

  /**
   * Physical slots, one per member in `wanted`; inactive physical slots of members no longer wanted
   * are dropped so they cannot pin WAL forever. On a standby, each slot is moved up to the position
   * given for it (the member's own, capped by PostgreSQL at our replay position), since nothing
   * streams from it to move it; a slot invalidated for lagging too far is created again.
   */
  async ensureSlots(wanted: ReadonlyMap<string, Lsn | null>): Promise<{ created: string[]; dropped: string[] }> {
    const { rows } = await this.sql.query<{ slot_name: string; active: boolean; restart_lsn: string | null }>(
      `SELECT slot_name, active, restart_lsn::text FROM pg_replication_slots WHERE slot_type = 'physical'`,
    );
    const have = new Map(rows.map((r) => [r.slot_name, r]));
    const created: string[] = [];
    const dropped: string[] = [];
    for (const [name, position] of wanted) {
      const slot = have.get(name);
      if (slot && slot.restart_lsn === null && !slot.active && position !== null) {
        await this.sql.query('SELECT pg_drop_replication_slot($1)', [name]);
      } else if (slot) {
        if (position !== null && slot.restart_lsn !== null && parseLsn(slot.restart_lsn) < position) {
          await this.sql.query('SELECT pg_replication_slot_advance($1, $2::pg_lsn)', [name, formatLsn(position)]);
        }
        continue;
      }
      await this.sql.query('SELECT pg_create_physical_replication_slot($1, true)', [name]);
      created.push(name);
    }
    for (const [name, slot] of have) {
      if (wanted.has(name) || slot.active) continue;
      await this.sql.query('SELECT pg_drop_replication_slot($1)', [name]);
      dropped.push(name);
    }
    return { created, dropped };
  }

  /** Deletes the data directory (a removed node, on the operator's request); returns it. */
  removeDataDir(): string {
    rmSync(this.o.dataDir, { recursive: true, force: true });
    return this.o.dataDir;
  }

  /** The consistency check's SQL on this instance, as the superuser (see consistency.ts). */
  consistency() {
    const params = this.connParams();
    return {
      listDatabases: () => listDatabases(params),
      listTables: (database: string) => listTables(params, database),
      holdTable: (database: string, table: string, holdMs: number) => holdTable(params, database, table, holdMs),
      digestAfter: (database: string, table: string, lsn: string, waitMs: number) => digestAfter(params, database, table, lsn, waitMs),
    };
  }

  /** Closes our connections and lets go of the guard, which keeps guarding what runs. */
  async close(): Promise<void> {
    await this.closeSql();
    this.guard.detach();
  }

  private async closeSql(): Promise<void> {
    await Promise.all([this.sql.close(), this.apiSql.close()]);
  }

  private writeConfig(runAs: RunAs): void {
    this.runAs = runAs;
    if (runAs.standby) this.syncNames = '';
    writeConfigFiles(
      this.o.user,
      this.o.dataDir,
      {
        syncStandbyNames: this.syncNames,
        clusterName: this.o.clusterName,
        listenHost: this.o.listenHost,
        port: this.o.port,
        parameters: this.o.parameters,
        standby: runAs.standby
          ? { upstream: runAs.upstream, slot: slotName(this.o.name), replicationUser: this.o.replication.username, passfile: this.passfile, appName: this.o.name }
          : null,
        tls: this.tls,
      },
      renderPgHba(this.o.pgHba, this.o.superuser.username, this.o.replication.username, this.tls !== null),
    );
  }
}

/** Replication slot names allow [a-z0-9_] only. */
export function slotName(member: string): string {
  return member.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}
