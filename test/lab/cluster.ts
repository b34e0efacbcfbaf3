/**
 * A pgwarden cluster in the lab: a 3-member etcd (one namespace each), N database hosts each
 * running PostgreSQL and `pgwarden agent`, and a client host running the checker. Every process
 * is started inside its host's namespace; data and logs live in one temporary directory.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';
import type { ClusterReport } from '../../src/api/cluster-view.js';
import { readPostmasterPid } from '../../src/postgres/ctl.js';
import { syncKeys } from '../../src/local/up.js';
import { freezeInstance, signalIfAlive } from '../support/cluster.js';
import { waitFor } from '../../src/util/deadline.js';
import { LAB, NetLab, SUBNET } from './netlab.js';
import { emptyRecord, sampleVip, startChecker, type Ack, type CheckerRecord } from './observers.js';

export const MAIN = resolve(import.meta.dirname, '../../src/main.js');
const ETCD = ['etcd1', 'etcd2', 'etcd3'];
/** The floating address of `vip` clusters: on the lab's segment, owned by no host. */
export const LAB_VIP = `${SUBNET}.50`;

export interface LabTiming {
  loop_wait: number;
  ttl: number;
  retry_timeout: number;
  primary_start_timeout: number;
  primary_hang_timeout: number;
}

/** The node defaults, so the lab measures what a user gets. */
export const LAB_TIMING: LabTiming = { loop_wait: 1, ttl: 10, retry_timeout: 3, primary_start_timeout: 10, primary_hang_timeout: 5 };

export type { Ack };

/** The checker's record (writes through each path, split-brain samples, writable set) and the cluster's handles. */
export interface LabCluster extends CheckerRecord {
  readonly lab: NetLab;
  readonly dir: string;
  readonly db: readonly string[];
  /** `vip` clusters: the floating address, and who held it when (wall ms). */
  readonly vip: string | null;
  readonly vipSamples: { at: number; holders: string[] }[];
  readonly timing: LabTiming;
  /** synchronous_mode of the nodes ('off' unless the scenario asked). */
  readonly sync: 'off' | 'on' | 'quorum';
  addr(host: string): string;
  /** `pgwarden cluster show` run on a database host with its own node.yaml. */
  show(host: string, json?: boolean): Promise<{ code: number; stdout: string }>;
  /** The cluster as seen from the client host (any agent that answers). */
  report(): Promise<ClusterReport>;
  waitConverged(timeoutMs: number, what?: string): Promise<ClusterReport>;
  /** Whether a host's PostgreSQL accepts writes, asked from inside that host. */
  writableLocally(host: string): Promise<boolean>;
  startAgent(host: string): void;
  killAgent(host: string): void;
  /** Stops (true) or resumes (false) the host's agent process. */
  freezeAgent(host: string, on: boolean): void;
  /** kill -9 of the host's postmaster; returns its pid. */
  killPostgres(host: string): number;
  postmasterPid(host: string): number | null;
  /** Stops (true) or resumes (false) every process of the host's PostgreSQL; returns the pids it signalled. */
  freezePostgres(host: string, on: boolean): number[];
  /** Fills (true) or frees (false) the filesystem of the host's data directory (`disk` clusters only). */
  fillDisk(host: string, on: boolean): void;
  /** The cluster's event log, as the client host reads it. */
  events(): Promise<{ at: string; node: string; kind: string; message: string }[]>;
  startEtcd(name: string): void;
  stopChecker(): Promise<void>;
  /** Ids present on a host (asked from the client host), in the direct writer's table or another. */
  idsOn(host: string, table?: string): Promise<Set<number>>;
  destroy(): Promise<void>;
}

/**
 * WAL that fits a small data disk, as an operator sizes it: the defaults let a standby keep up to
 * max_wal_size (1 GB) between restartpoints, and a replication slot of a standby that is down keeps
 * WAL without limit. Segments of 1 MB: each promotion leaves the last segment of the old timeline in
 * every node's pg_wal until the WAL position has moved past it, and on a quiet cluster that the
 * nemesis promotes every few seconds, fifty 16 MB leftovers fill a 512 MB disk.
 */
function walFor(diskMb: number): { parameters: Record<string, string>; initdb: string[] } {
  const mb = Math.floor(diskMb / 8);
  return {
    parameters: { max_wal_size: `${mb}MB`, min_wal_size: '32MB', wal_keep_size: `${Math.floor(mb / 2)}MB`, max_slot_wal_keep_size: `${2 * mb}MB`, checkpoint_timeout: '1min' },
    initdb: ['--wal-segsize=1'],
  };
}

/**
 * `proxy`: a pgwarden proxy on the client host, and a second writer going through its read-write
 * port. `diskMb`: each database host's directory is a tmpfs of that size, so a fault can fill it.
 */
export async function startLabCluster(opts: { dbHosts: number; timing?: LabTiming; sync?: 'on' | 'quorum'; proxy?: boolean; diskMb?: number; vip?: boolean }): Promise<LabCluster> {
  const timing = opts.timing ?? LAB_TIMING;
  const db = Array.from({ length: opts.dbHosts }, (_, i) => `db${i + 1}`);
  const hosts: Record<string, number> = { client: 100 };
  db.forEach((h, i) => (hosts[h] = 11 + i));
  ETCD.forEach((h, i) => (hosts[h] = 21 + i));
  const lab = NetLab.create(hosts);
  const dir = mkdtempSync(join(tmpdir(), 'pgwlab-'));
  chmodSync(dir, 0o755);
  const procs = new Map<string, ChildProcess>();
  const rec = emptyRecord();
  const vipSamples: { at: number; holders: string[] }[] = [];
  let stopVipSampler = async () => {};
  const password = `lab-${process.pid}-${Date.now()}`;
  let checker: ChildProcess | null = null;

  const log = (name: string) => openSync(join(dir, `${name}.out`), 'a');
  const startProc = (key: string, host: string, cmd: string, args: string[], env: Record<string, string> = {}) => {
    const out = log(key);
    const child = lab.spawn(host, cmd, args, { stdio: ['ignore', out, out], env: { ...process.env, ...env } });
    closeSync(out);
    procs.set(key, child);
    return child;
  };

  const mounts: string[] = [];
  // With diskMb, the data directory sits alone on its small filesystem; logs stay outside it.
  const disk = (h: string) => (opts.diskMb ? join(dir, h, 'disk') : join(dir, h));
  const wal = opts.diskMb ? walFor(opts.diskMb) : undefined;
  const dataDir = (h: string) => join(disk(h), 'data');
  const destroy = async () => {
    await stopVipSampler();
    if (checker && checker.exitCode === null) checker.kill('SIGKILL');
    lab.destroy();
    for (const m of mounts) execFileSync('umount', ['-l', m]);
    if (process.env.PGW_KEEP_TEST_DIRS) console.log(`  kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  };

  try {
    const etcdCluster = ETCD.map((h, i) => `e${i + 1}=http://${lab.addr(h)}:2380`).join(',');
    const startEtcd = (h: string) => {
      const a = lab.addr(h);
      const name = `e${ETCD.indexOf(h) + 1}`;
      startProc(h, h, 'etcd', [
        '--name',
        name,
        '--data-dir',
        join(dir, h),
        '--listen-client-urls',
        `http://${a}:2379`,
        '--advertise-client-urls',
        `http://${a}:2379`,
        '--listen-peer-urls',
        `http://${a}:2380`,
        '--initial-advertise-peer-urls',
        `http://${a}:2380`,
        '--initial-cluster',
        etcdCluster,
        '--initial-cluster-state',
        'new',
        '--log-level',
        'error',
      ]);
    };
    ETCD.forEach(startEtcd);
    const endpoints = ETCD.map((h) => `http://${lab.addr(h)}:2379`);

    mkdirSync(join(dir, 'secrets'), { mode: 0o700 });
    writeFileSync(join(dir, 'secrets', 'superuser'), password, { mode: 0o600 });
    writeFileSync(join(dir, 'secrets', 'replication'), `r-${password}`, { mode: 0o600 });
    writeFileSync(join(dir, 'secrets', 'rewind'), `w-${password}`, { mode: 0o600 });
    writeFileSync(join(dir, 'secrets', 'api_token'), `token-${randomBytes(16).toString('hex')}`, { mode: 0o600 });
    for (const [i, h] of db.entries()) {
      const a = lab.addr(h);
      mkdirSync(join(dir, h), { mode: 0o755 });
      if (opts.diskMb) {
        mkdirSync(disk(h), { mode: 0o755 });
        execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${opts.diskMb}m,mode=755`, `${LAB}-${h}`, disk(h)]);
        mounts.push(disk(h));
      }
      writeFileSync(
        join(dir, `${h}.yaml`),
        toYaml({
          name: h,
          id: i + 1,
          scope: 'lab',
          data_dir: dataDir(h),
          run_dir: join(dir, h, 'run'),
          postgresql: {
            // All addresses of the host: its own eth0 for the cluster, loopback for local checks.
            listen: '0.0.0.0:5432',
            connect_address: `${a}:5432`,
            superuser: { username: 'postgres', password_file: join(dir, 'secrets', 'superuser') },
            replication: { username: 'replicator', password_file: join(dir, 'secrets', 'replication') },
            rewind: { username: 'pgwarden_rewind', password_file: join(dir, 'secrets', 'rewind') },
            parameters: { shared_buffers: '32MB', max_connections: 40, ...wal?.parameters },
            initdb: wal?.initdb ?? [],
          },
          api: { listen: `${a}:8008`, connect_address: `${a}:8008`, auth_token_file: join(dir, 'secrets', 'api_token') },
          store: { type: 'etcd', endpoints },
          ...timing,
          ...syncKeys(opts.sync ? { mode: opts.sync } : undefined),
          ...(opts.vip ? { vip: { address: LAB_VIP, prefix: 24, interface: 'eth0' } } : {}),
          log: { level: 'debug', file: join(dir, h, 'agent.log') },
        }),
      );
    }
    writeFileSync(join(dir, 'cluster.yaml'), toYaml({ endpoints: db.map((h) => `http://${lab.addr(h)}:8008`), auth_token_file: join(dir, 'secrets', 'api_token') }));

    const cluster: LabCluster = {
      lab,
      dir,
      db,
      ...rec,
      vip: opts.vip ? LAB_VIP : null,
      vipSamples,
      timing,
      sync: opts.sync ?? 'off',
      addr: (h) => lab.addr(h),
      show: async (host, json = false) => lab.run(host, process.execPath, [MAIN, 'cluster', 'show', '-c', join(dir, `${host}.yaml`), ...(json ? ['--json'] : [])]),
      async report() {
        const r = await lab.run('client', process.execPath, [MAIN, 'cluster', 'show', '-c', join(dir, 'cluster.yaml'), '--json']);
        if (r.code === 2) throw new Error(`cluster show: ${r.stderr.trim()}`);
        return JSON.parse(r.stdout) as ClusterReport;
      },
      waitConverged: (ms, what = 'a leader with every standby streaming, lag 0') =>
        waitFor(
          what,
          async () => {
            const r = await cluster.report();
            // Every database host a member: one still registering is not "converged" yet.
            const ok =
              r.leader !== null &&
              db.every((h) => r.members.some((m) => m.name === h)) &&
              r.members.every((m) => (m.name === r.leader ? m.status === '* running' : m.status === 'running' && m.streaming && m.lag_bytes === 0));
            return ok ? r : false;
          },
          { timeoutMs: ms, intervalMs: 500 },
        ),
      async writableLocally(host) {
        const r = await lab.run(host, '/usr/bin/psql', ['-h', '127.0.0.1', '-p', '5432', '-U', 'postgres', '-d', 'postgres', '-Atc', 'SELECT NOT pg_is_in_recovery()'], 5000);
        return r.code === 0 && r.stdout.trim() === 't';
      },
      startAgent: (h) => void startProc(`agent-${h}`, h, process.execPath, [MAIN, 'agent', '-c', join(dir, `${h}.yaml`)]),
      killAgent(h) {
        procs.get(`agent-${h}`)?.kill('SIGKILL');
      },
      freezeAgent(h, on) {
        procs.get(`agent-${h}`)?.kill(on ? 'SIGSTOP' : 'SIGCONT');
      },
      killPostgres(h) {
        const pid = readPostmasterPid(dataDir(h));
        if (pid === null) throw new Error(`${h}: no postmaster`);
        // A pid file a crashed postmaster left behind: the fault hits nothing.
        signalIfAlive(pid, 'SIGKILL');
        return pid;
      },
      postmasterPid: (h) => readPostmasterPid(dataDir(h)),
      freezePostgres: (h, on) => freezeInstance(dataDir(h), on),
      fillDisk(h, on) {
        const fillers = () => readdirSync(disk(h)).filter((f) => f.startsWith('filler-'));
        if (!on) return fillers().forEach((f) => rmSync(join(disk(h), f), { force: true }));
        // PostgreSQL keeps writing meanwhile, so no one size is right: take chunks until none fits.
        let n = 0;
        for (const chunk of [64 << 20, 1 << 20, 64 << 10, 4 << 10]) {
          for (;;) {
            const f = join(disk(h), `filler-${n++}`);
            try {
              execFileSync('fallocate', ['-l', String(chunk), f], { stdio: 'ignore' });
            } catch {
              rmSync(f, { force: true });
              break;
            }
          }
        }
      },
      async events() {
        const r = await lab.run('client', process.execPath, [MAIN, 'cluster', 'events', '-c', join(dir, 'cluster.yaml'), '--json', '-n', '500']);
        if (r.code !== 0) throw new Error(`cluster events: ${r.stderr.trim()}`);
        return JSON.parse(r.stdout) as { at: string; node: string; kind: string; message: string }[];
      },
      startEtcd,
      async stopChecker() {
        if (!checker || checker.exitCode !== null) return;
        const done = new Promise((r) => checker!.once('exit', r));
        checker.kill('SIGTERM');
        await done;
      },
      async idsOn(host, table = 'lab_acked') {
        const r = await lab.run('client', '/usr/bin/psql', ['-h', lab.addr(host), '-p', '5432', '-U', 'postgres', '-d', 'postgres', '-Atc', `SELECT id FROM ${table}`], 20_000);
        if (r.code !== 0) throw new Error(`reading ids on ${host}: ${r.stderr}`);
        return new Set(r.stdout.split('\n').filter(Boolean).map(Number));
      },
      destroy,
    };
    // psql inside the namespaces reads the password from the environment, never from argv.
    lab.runEnv = { PGPASSWORD: password, PGCONNECT_TIMEOUT: '2' };

    await waitFor(
      'the 3-member etcd to elect a leader',
      async () => {
        const r = await lab.run(
          'client',
          process.execPath,
          ['-e', `fetch('${endpoints[0]}/health').then(r=>r.json()).then(j=>process.exit(j.health==='true'?0:1),()=>process.exit(1))`],
          5000,
        );
        return r.code === 0;
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );
    db.forEach((h) => cluster.startAgent(h));
    await cluster.waitConverged(120_000);

    if (opts.proxy) {
      writeFileSync(
        join(dir, 'proxy.yaml'),
        toYaml({
          name: 'proxy1',
          scope: 'lab',
          store: { type: 'etcd', endpoints },
          ttl: timing.ttl,
          listen_rw: '127.0.0.1:5000',
          listen_ro: '127.0.0.1:5001',
          admin_listen: '127.0.0.1:5002',
          health_check: { interval: 1, timeout: 1, user: 'postgres', database: 'postgres', password_file: join(dir, 'secrets', 'superuser') },
          log: { level: 'info', file: join(dir, 'proxy.log') },
        }),
      );
      startProc('proxy', 'client', process.execPath, [MAIN, 'proxy', '-c', join(dir, 'proxy.yaml')]);
    }
    if (opts.vip) stopVipSampler = sampleVip(lab, db, LAB_VIP, vipSamples);
    checker = await startChecker(
      lab,
      {
        endpoints: db.map((h) => ({ name: h, host: lab.addr(h), port: 5432 })),
        password,
        proxy: opts.proxy ? { name: 'proxy', host: '127.0.0.1', port: 5000 } : undefined,
        vip: opts.vip ? { name: 'vip', host: LAB_VIP, port: 5432 } : undefined,
      },
      rec,
    );
    return cluster;
  } catch (err) {
    await destroy();
    throw err;
  }
}
