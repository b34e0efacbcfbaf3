/**
 * The proxy benchmark's peers, from Debian's packages, configured as their own documentation advises (fair reference settings)
 * (HAProxy TCP relay to the primary, PgBouncer transaction pooling, pgpool-II streaming-replication
 * mode with load balancing over every node; SCRAM on every TCP line), on free ports in one
 * temporary directory. PgBouncer and pgpool-II run as the PostgreSQL OS user (PgBouncer refuses
 * root).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { chownTo, resolveOsUser, spawnIdentity } from '../src/postgres/os-user.js';
import { waitFor } from '../src/util/deadline.js';
import { freePorts } from '../test/support/ports.js';

export interface Backend {
  readonly name: string;
  readonly port: number;
  readonly dataDir: string;
}

export interface Peer {
  readonly name: 'haproxy' | 'pgbouncer' | 'pgpool';
  readonly port: number;
  readonly pid: number;
}

const BINARIES = { haproxy: '/usr/sbin/haproxy', pgbouncer: '/usr/sbin/pgbouncer', pgpool: '/usr/sbin/pgpool' };
const PACKAGES = { haproxy: 'haproxy', pgbouncer: 'pgbouncer', pgpool: 'pgpool2' };

export function ensurePeers(): void {
  const missing = (Object.keys(BINARIES) as (keyof typeof BINARIES)[]).filter((k) => !existsSync(BINARIES[k])).map((k) => PACKAGES[k]);
  if (missing.length === 0) return;
  console.log(`installing Debian packages ${missing.join(', ')} (peers)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

export class Peers {
  readonly list: Peer[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly user = resolveOsUser();

  constructor(private readonly dir: string) {}

  /** Starts the three peers in front of `backends` (the first is the primary) for `db`. */
  /** `tls`: a certificate and key (readable by the OS user) PgBouncer offers clients that ask for TLS. */
  async start(backends: readonly Backend[], db: string, user: string, password: string, tls?: { cert: string; key: string }): Promise<void> {
    const [haproxy, pgbouncer, pgpool, pcp] = await freePorts(4);
    const primary = backends[0];
    if (!primary) throw new Error('the peers need at least one backend');
    this.mkdir('.');
    this.mkdir('sock');

    this.file(
      'haproxy.cfg',
      [
        'global',
        '    maxconn 2000',
        '',
        'defaults',
        '    mode tcp',
        '    timeout connect 5s',
        '    timeout client  1h',
        '    timeout server  1h',
        '',
        'listen pg_primary',
        `    bind 127.0.0.1:${haproxy}`,
        `    server ${primary.name} 127.0.0.1:${primary.port}`,
        '',
      ].join('\n'),
    );
    await this.run('haproxy', haproxy, [BINARIES.haproxy, '-db', '-f', join(this.dir, 'haproxy.cfg')], false);

    this.mkdir('pgbouncer');
    this.file('pgbouncer/userlist.txt', `"${user}" "${password}"\n`, 0o600);
    this.file(
      'pgbouncer/pgbouncer.ini',
      [
        '[databases]',
        `${db} = host=127.0.0.1 port=${primary.port} dbname=${db}`,
        '',
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${pgbouncer}`,
        `unix_socket_dir = ${join(this.dir, 'sock')}`,
        'auth_type = scram-sha-256',
        `auth_file = ${join(this.dir, 'pgbouncer/userlist.txt')}`,
        'pool_mode = transaction',
        'max_client_conn = 200',
        'default_pool_size = 20',
        'log_connections = 0',
        'log_disconnections = 0',
        `logfile = ${join(this.dir, 'pgbouncer/pgbouncer.log')}`,
        ...(tls ? ['client_tls_sslmode = allow', `client_tls_cert_file = ${tls.cert}`, `client_tls_key_file = ${tls.key}`] : []),
        '',
      ].join('\n'),
    );
    await this.run('pgbouncer', pgbouncer, [BINARIES.pgbouncer, join(this.dir, 'pgbouncer/pgbouncer.ini')], true);

    this.mkdir('pgpool');
    this.mkdir('pgpool/oiddir');
    this.file('pgpool/pool_passwd', `${user}:TEXT${password}\n`, 0o600);
    this.file('pgpool/pcp.conf', '');
    this.file('pgpool/pool_hba.conf', 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n');
    const sock = join(this.dir, 'sock');
    this.file(
      'pgpool/pgpool.conf',
      [
        "backend_clustering_mode = 'streaming_replication'",
        "listen_addresses = '127.0.0.1'",
        `port = ${pgpool}`,
        `socket_dir = '${sock}'`,
        "pcp_listen_addresses = '127.0.0.1'",
        `pcp_port = ${pcp}`,
        `pcp_socket_dir = '${sock}'`,
        `wd_ipc_socket_dir = '${sock}'`,
        'use_watchdog = off',
        ...backends.flatMap((b, i) => [
          `backend_hostname${i} = '127.0.0.1'`,
          `backend_port${i} = ${b.port}`,
          `backend_weight${i} = 1`,
          `backend_data_directory${i} = '${b.dataDir}'`,
          `backend_flag${i} = 'ALLOW_TO_FAILOVER'`,
          `backend_application_name${i} = '${b.name}'`,
        ]),
        'enable_pool_hba = on',
        `pool_passwd = '${join(this.dir, 'pgpool/pool_passwd')}'`,
        'num_init_children = 32',
        'max_pool = 4',
        'connection_cache = on',
        'load_balance_mode = on',
        'statement_level_load_balance = off',
        "disable_load_balance_on_write = 'transaction'",
        'sr_check_period = 10',
        `sr_check_user = '${user}'`,
        `sr_check_password = '${password}'`,
        "sr_check_database = 'postgres'",
        'delay_threshold = 0',
        'health_check_period = 5',
        'health_check_timeout = 20',
        `health_check_user = '${user}'`,
        `health_check_password = '${password}'`,
        "health_check_database = 'postgres'",
        'health_check_max_retries = 3',
        'health_check_retry_delay = 1',
        "failover_command = ''",
        `pid_file_name = '${join(this.dir, 'pgpool/pgpool.pid')}'`,
        `logdir = '${join(this.dir, 'pgpool')}'`,
        `memqcache_oiddir = '${join(this.dir, 'pgpool/oiddir')}'`,
        "log_destination = 'stderr'",
        'logging_collector = off',
        'log_min_messages = warning',
        '',
      ].join('\n'),
      0o600,
    );
    await this.run(
      'pgpool',
      pgpool,
      [BINARIES.pgpool, '-n', '-f', join(this.dir, 'pgpool/pgpool.conf'), '-F', join(this.dir, 'pgpool/pcp.conf'), '-a', join(this.dir, 'pgpool/pool_hba.conf')],
      true,
    );
  }

  async stop(): Promise<void> {
    for (const c of this.children) {
      if (c.exitCode !== null || c.pid === undefined) continue;
      const exited = new Promise((r) => c.once('exit', r));
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    }
  }

  private async run(name: Peer['name'], port: number, [file, ...args]: [string, ...string[]], asOsUser: boolean): Promise<void> {
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true, ...(asOsUser ? spawnIdentity(this.user) : {}) });
    this.children.push(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    await waitFor(
      `${name} to listen on ${port}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${stderr}`);
        return portOpen(port);
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    this.list.push({ name, port, pid: child.pid! });
  }

  private mkdir(rel: string): void {
    mkdirSync(join(this.dir, rel), { recursive: true, mode: 0o700 });
    chownTo(this.user, join(this.dir, rel));
  }

  private file(rel: string, text: string, mode = 0o644): void {
    writeFileSync(join(this.dir, rel), text, { mode });
    chmodSync(join(this.dir, rel), mode);
    chownTo(this.user, join(this.dir, rel));
  }
}

/** Pids whose process group is `pgid`, from /proc. */
export function processGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Resident memory of these processes together, in MB (shared pages counted once per process). */
export function rssMb(pids: readonly number[]): number {
  return memoryMb(pids, 'rss');
}

/**
 * Memory of these processes (MB) from /proc/PID/smaps_rollup: `rss` counts every resident page,
 * shared ones (a binary's code) once per process; `pss` splits each shared page among the
 * processes that map it; `uss` is the private part, what ending them would free.
 */
export function memoryMb(pids: readonly number[], kind: 'rss' | 'pss' | 'uss'): number {
  const fields = { rss: ['Rss'], pss: ['Pss'], uss: ['Private_Clean', 'Private_Dirty'] }[kind];
  let kb = 0;
  for (const pid of pids) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      for (const f of fields) kb += Number(new RegExp(`^${f}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return Math.round(kb / 102.4) / 10;
}

/** User + system CPU seconds these processes have used so far. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // exited meanwhile
    }
  }
  return ticks / 100;
}
