/**
 * The files pgwarden owns in a data directory: postgresql.conf (rewritten on every start, because a
 * clone brings the primary's), pg_hba.conf, standby.signal, and the pgpass file libpq programs use.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { OsUser } from './os-user.js';
import { writeOwned } from './os-user.js';
import { libpqTls, serverTlsParameters, type PgTls } from './tls.js';

export interface Upstream {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface ConfInput {
  readonly clusterName: string;
  readonly listenHost: string;
  readonly port: number;
  readonly parameters: Readonly<Record<string, string | number | boolean>>;
  /** Set by the leader's synchronous-replication step; '' = asynchronous. */
  readonly syncStandbyNames?: string;
  /** null = run as a primary (no standby.signal). */
  readonly standby: { upstream: Upstream | null; slot: string; replicationUser: string; passfile: string; appName: string } | null;
  /** postgresql.tls: served to clients, and required of the replication connection (verify-full). */
  readonly tls: PgTls | null;
}

/** Settings the HA logic depends on; user parameters cannot override them. */
export function managedParameters(input: ConfInput): Record<string, string | number | boolean> {
  const p: Record<string, string | number | boolean> = {
    listen_addresses: input.listenHost,
    port: input.port,
    // TCP only: no socket path to collide between instances on one host.
    unix_socket_directories: '',
    cluster_name: input.clusterName,
    wal_level: 'replica',
    hot_standby: 'on',
    // pg_rewind needs hint bits WAL-logged (or checksums) to rewind a diverged old primary.
    wal_log_hints: 'on',
    recovery_target_timeline: 'latest',
    // A standby whose upstream vanished retries every second instead of every five.
    wal_retrieve_retry_interval: '1s',
    // Only ever what the leader's synchronous-replication step set; never inherited by a clone.
    synchronous_standby_names: input.syncStandbyNames ?? '',
  };
  if (input.standby?.upstream) {
    const u = input.standby.upstream;
    p.primary_conninfo = conninfo({
      host: u.host,
      port: u.port,
      user: input.standby.replicationUser,
      passfile: input.standby.passfile,
      application_name: input.standby.appName,
      connect_timeout: 3,
      keepalives_idle: 5,
      keepalives_interval: 1,
      keepalives_count: 3,
      tcp_user_timeout: 10000,
      ...libpqTls(input.tls),
    });
    p.primary_slot_name = input.standby.slot;
  } else {
    p.primary_conninfo = '';
    p.primary_slot_name = '';
  }
  return input.tls ? { ...p, ...serverTlsParameters(input.tls) } : p;
}

const DEFAULTS: Record<string, string | number | boolean> = {
  max_connections: 100,
  max_wal_senders: 10,
  max_replication_slots: 10,
  wal_keep_size: '128MB',
  // A walsender whose standby vanished (network cut) must let go of the slot well before an
  // operator would notice; the default 60 s would keep the returning standby out that long.
  wal_sender_timeout: '10s',
  // The same on the standby's side: a replication connection whose network vanished is given up
  // after 10 s, so the standby is already retrying (every second) when the network returns,
  // instead of waiting out TCP's retransmission backoff.
  wal_receiver_timeout: '10s',
  // A status message every second: a synchronous standby that went silent (its network cut) is
  // noticed by the leader in seconds, not after wal_sender_timeout.
  wal_receiver_status_interval: '1s',
  shared_buffers: '128MB',
  logging_collector: 'off',
  log_line_prefix: '%m [%p] %q%u@%d ',
};

function quote(v: string | number | boolean): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

export function renderPostgresqlConf(input: ConfInput): string {
  const all = { ...DEFAULTS, ...input.parameters, ...managedParameters(input) };
  const lines = Object.entries(all).map(([k, v]) => `${k} = ${quote(v)}`);
  return `# Written by pgwarden on every start; edit the node's YAML (postgresql.parameters) instead.\n${lines.join('\n')}\n`;
}

/** With TLS on, the default lines are `hostssl`: a login without TLS finds no line and is refused. */
export function renderPgHba(extra: readonly string[], superuser: string, replicationUser: string, tls = false): string {
  const host = tls ? 'hostssl' : 'host';
  return [
    '# Written by pgwarden; add lines with postgresql.pg_hba in the node YAML.',
    ...extra,
    `${host} replication ${replicationUser} 0.0.0.0/0 scram-sha-256`,
    `${host} replication ${replicationUser} ::/0 scram-sha-256`,
    `${host} all ${superuser} 0.0.0.0/0 scram-sha-256`,
    `${host} all ${superuser} ::/0 scram-sha-256`,
    `${host} all all 0.0.0.0/0 scram-sha-256`,
    `${host} all all ::/0 scram-sha-256`,
    '',
  ].join('\n');
}

/** A libpq connection string; values are quoted as libpq expects. */
export function conninfo(params: Record<string, string | number>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${/^[A-Za-z0-9_./:-]+$/.test(String(v)) ? v : `'${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`}`)
    .join(' ');
}

export function writeConfigFiles(user: OsUser, dataDir: string, input: ConfInput, hba: string): void {
  writeOwned(user, join(dataDir, 'postgresql.conf'), renderPostgresqlConf(input));
  writeOwned(user, join(dataDir, 'pg_hba.conf'), hba);
  const signal = join(dataDir, 'standby.signal');
  if (input.standby) writeOwned(user, signal, '');
  else if (existsSync(signal)) rmSync(signal);
}

/**
 * synchronous_standby_names as our postgresql.conf last set it ('' when absent): a primary that a
 * fresh agent starts again keeps waiting on the same standbys until the leader's step decides.
 */
export function readSyncStandbyNames(dataDir: string): string {
  const file = join(dataDir, 'postgresql.conf');
  if (!existsSync(file)) return '';
  const m = /^synchronous_standby_names = '((?:[^'\\]|''|\\.)*)'$/m.exec(readFileSync(file, 'utf8'));
  return m?.[1] !== undefined ? m[1].replace(/''/g, "'").replace(/\\\\/g, '\\') : '';
}

/**
 * One line per host:port and user: a password is offered only to the members the cluster
 * registered, never to any host (`*`). pgpass escapes ':' and '\'.
 */
export function renderPgpass(hosts: readonly { host: string; port: number }[], users: readonly { user: string; password: string }[]): string {
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
  const lines = hosts.flatMap((h) => users.map((u) => `${esc(h.host)}:${h.port}:*:${esc(u.user)}:${esc(u.password)}`));
  return lines.length ? `${lines.join('\n')}\n` : '';
}
