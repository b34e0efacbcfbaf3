/**
 * SQL against the local instance, through one `pg` client kept open between cycles. Connection
 * failures are mapped to PostgresUnavailableError here, at the boundary.
 */
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { PostgresTimeoutError, PostgresUnavailableError, errorMessage } from '../util/errors.js';
import { parseLsn, type Lsn } from '../util/lsn.js';

export interface ReplicationRow {
  readonly application_name: string;
  readonly state: string;
  readonly sync_state: string;
  readonly flush_lsn: Lsn | null;
  readonly replay_lsn: Lsn | null;
  /** Since the standby's last status message (null: none yet). */
  readonly reply_age_ms: number | null;
}

export interface SqlStatus {
  readonly inRecovery: boolean;
  readonly timeline: number;
  /** Primary: pg_current_wal_lsn(). Standby: last flushed received LSN (or replayed when none). */
  readonly lsn: Lsn;
  /** Standby: last replayed LSN. Null on a primary (a promoted one still reports its last replay). */
  readonly replayedLsn: Lsn | null;
  readonly streaming: boolean;
  /** application_name/host the walreceiver is connected to, when streaming. */
  readonly receiverHost: string | null;
  readonly receiverPort: number | null;
  readonly replication: readonly ReplicationRow[];
  readonly sysid: string;
  readonly syncStandbyNames: string;
  /** Client sessions inside a transaction (ours excluded): what a switchover drains. */
  readonly openTransactions: number;
}

export interface ConnParams {
  host: string;
  port: number;
  user: string;
  password: string;
  /** postgresql.tls (nodePgTls): the server verified against the CA. */
  ssl?: ConnectionOptions;
  enableChannelBinding?: boolean;
}

const STATUS_SQL = `
SELECT pg_is_in_recovery() AS in_recovery,
       (SELECT timeline_id FROM pg_control_checkpoint()) AS checkpoint_tli,
       (SELECT system_identifier::text FROM pg_control_system()) AS sysid,
       CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS write_lsn,
       pg_last_wal_receive_lsn()::text AS receive_lsn,
       pg_last_wal_replay_lsn()::text AS replay_lsn,
       current_setting('synchronous_standby_names') AS sync_names,
       r.status AS receiver_status, r.received_tli, r.sender_host, r.sender_port,
       (SELECT json_agg(json_build_object('application_name', application_name, 'state', state, 'sync_state', sync_state,
                                          'flush_lsn', flush_lsn::text, 'replay_lsn', replay_lsn::text,
                                          'reply_age_ms', (extract(epoch FROM clock_timestamp() - reply_time) * 1000)::int))
          FROM pg_stat_replication) AS replication,
       (SELECT count(*)::int FROM pg_stat_activity
         WHERE backend_type = 'client backend' AND xact_start IS NOT NULL AND pid <> pg_backend_pid()) AS open_xacts
  FROM (SELECT 1) one LEFT JOIN pg_stat_wal_receiver r ON true`;

/** One row of STATUS_SQL, as the driver returns it. */
interface StatusRow {
  readonly in_recovery: boolean;
  readonly receive_lsn: string | null;
  readonly replay_lsn: string | null;
  readonly write_lsn: string | null;
  readonly received_tli: number | null;
  readonly checkpoint_tli: number;
  readonly receiver_status: string | null;
  readonly sender_host: string | null;
  readonly sender_port: number | null;
  readonly replication: readonly ReplicationJson[] | null;
  readonly sysid: string;
  readonly sync_names: string;
  readonly open_xacts: number;
}

/** One element of STATUS_SQL's replication array (json_build_object of pg_stat_replication). */
interface ReplicationJson {
  readonly application_name: string;
  readonly state: string;
  readonly sync_state: string;
  readonly flush_lsn: string | null;
  readonly replay_lsn: string | null;
  readonly reply_age_ms: number | null;
}

/** How long a graceful close may wait for the server before the socket is destroyed. */
const CLOSE_GRACE_MS = 200;

export class LocalSql {
  private client: pg.Client | null = null;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly params: () => ConnParams) {}

  /** One query at a time on the shared connection (the HA loop and the API both ask). */
  async query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values: unknown[] = [], timeoutMs = 5000): Promise<pg.QueryResult<T>> {
    const run = this.tail.then(async () => {
      const client = await this.connect(timeoutMs);
      try {
        return await client.query<T>({ text: sql, values, query_timeout: timeoutMs } as pg.QueryConfig);
      } catch (err) {
        if ((err as { code?: string }).code === undefined) await this.close();
        throw mapError(err);
      }
    });
    this.tail = run.catch(() => {});
    return run;
  }

  async status(timeoutMs: number): Promise<SqlStatus> {
    const { rows } = await this.query<StatusRow>(STATUS_SQL, [], timeoutMs);
    const r = rows[0];
    if (!r) throw new PostgresUnavailableError('the status query returned no row');
    const inRecovery = r.in_recovery;
    const receive = r.receive_lsn ? parseLsn(r.receive_lsn) : null;
    const replay = r.replay_lsn ? parseLsn(r.replay_lsn) : null;
    const lsn = inRecovery ? (receive !== null && replay !== null ? (receive > replay ? receive : replay) : (receive ?? replay ?? 0n)) : parseLsn(r.write_lsn ?? '0/0');
    // On a standby the timeline being replayed is the most current one we know of.
    const timeline = inRecovery && r.received_tli ? Math.max(Number(r.received_tli), Number(r.checkpoint_tli)) : Number(r.checkpoint_tli);
    return {
      inRecovery,
      timeline: inRecovery ? timeline : await this.currentTimeline(Number(r.checkpoint_tli)),
      lsn,
      // A promoted primary still reports its last replayed position: stale, so not published.
      replayedLsn: inRecovery ? replay : null,
      streaming: r.receiver_status === 'streaming',
      receiverHost: r.sender_host ?? null,
      receiverPort: r.sender_port ?? null,
      replication: (r.replication ?? []).map((x) => ({
        application_name: x.application_name,
        state: x.state,
        sync_state: x.sync_state,
        flush_lsn: x.flush_lsn ? parseLsn(x.flush_lsn) : null,
        replay_lsn: x.replay_lsn ? parseLsn(x.replay_lsn) : null,
        reply_age_ms: x.reply_age_ms ?? null,
      })),
      sysid: r.sysid,
      syncStandbyNames: r.sync_names,
      openTransactions: r.open_xacts,
    };
  }

  /**
   * Right after promotion the checkpoint's timeline is still the old one until the end-of-recovery
   * checkpoint completes; the WAL file name of the insert position tells the current timeline.
   */
  private async currentTimeline(fallback: number): Promise<number> {
    const { rows } = await this.query(`SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) AS tli`);
    const tli = parseInt(rows[0]?.tli ?? '', 16);
    return Number.isFinite(tli) ? tli : fallback;
  }

  /**
   * Closes the connection. A graceful end waits for the server to close its side, which a frozen
   * or hung server never does: after a moment the socket is destroyed, so no caller (the HA loop
   * above all) waits on a server that does not answer.
   */
  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (!c) return;
    const ended = c.end().catch(() => {});
    // node-postgres keeps its socket as connection.stream; it has no public way to drop it.
    const socket = (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
    const timer = setTimeout(() => socket?.destroy(), CLOSE_GRACE_MS);
    await ended;
    clearTimeout(timer);
  }

  private async connect(timeoutMs: number): Promise<pg.Client> {
    if (this.client) return this.client;
    const p = this.params();
    // The agent's own commits (the write probe) never wait for a synchronous standby: the agent is
    // the one that changes synchronous_standby_names when a standby is gone.
    const client = new pg.Client({ ...p, database: 'postgres', connectionTimeoutMillis: timeoutMs, application_name: 'pgwarden', options: '-c synchronous_commit=local' });
    client.on('error', () => {
      if (this.client === client) this.client = null;
    });
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw mapError(err);
    }
    this.client = client;
    return client;
  }
}

/** Connection-level failures mean "not available"; SQL errors pass through. */
function mapError(err: unknown): Error {
  const code = (err as { code?: string }).code;
  // node-postgres reports its query_timeout and connectionTimeoutMillis as plain errors.
  if (code === undefined && /timeout/i.test(errorMessage(err))) return new PostgresTimeoutError(`local PostgreSQL did not answer: ${errorMessage(err)}`, { cause: err });
  if (code === undefined || code.startsWith('08') || code === '57P03' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === '57P01') {
    return new PostgresUnavailableError(`local PostgreSQL: ${errorMessage(err)}`, { cause: err });
  }
  return err as Error;
}
