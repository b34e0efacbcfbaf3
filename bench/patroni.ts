/**
 * Patroni (Debian's package) as a peer for the failover benchmark: 3 members on the same real
 * etcd kind as pgwarden, at Patroni's tightest valid timing (ttl 20, loop_wait 1,
 * retry_timeout 3), pg_rewind on. Patroni runs as the postgres user (it spawns PostgreSQL itself).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { resolveOsUser } from '../src/postgres/os-user.js';
import { waitFor } from '../src/util/deadline.js';
import { crashHostOf, freezeInstance, killInstance, killPostmaster } from '../test/support/cluster.js';
import { startEtcd, type TestEtcd } from '../test/support/etcd.js';
import { freePorts } from '../test/support/ports.js';
import type { BenchTarget } from './target.js';

export function ensurePatroni(): void {
  if (existsSync('/usr/bin/patroni')) return;
  console.log('installing Debian package patroni (peer for --with-patroni)…');
  execFileSync('apt-get', ['install', '-y', '-qq', 'patroni'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

export async function patroniCluster(timing = { ttl: 20, loop_wait: 1, retry_timeout: 3 }): Promise<BenchTarget> {
  const user = resolveOsUser();
  const dir = mkdtempSync(join(tmpdir(), 'pgw-patroni-'));
  chmodSync(dir, 0o755);
  const own = (p: string) => user.switchTo && chownSync(p, user.uid, user.gid);
  own(dir);
  let etcd: TestEtcd | null = null;
  const procs = new Map<string, ChildProcess>();
  const names = ['p1', 'p2', 'p3'];
  const dataDir = (n: string) => join(dir, n, 'data');
  const cleanup = async () => {
    for (const p of procs.values()) if (p.exitCode === null) p.kill('SIGKILL');
    for (const n of names) killInstance(dataDir(n));
    await etcd?.stop();
    if (process.env.PGW_KEEP_TEST_DIRS) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  };
  try {
    etcd = await startEtcd();
    const ports = await freePorts(6);
    const password = `bench-${process.pid}`;
    const pairs = names.map((name, i) => ({ name, port: ports[i * 2] ?? 0, api: ports[i * 2 + 1] ?? 0 }));
    const endpoints = pairs.map(({ name, port }) => ({ name, port }));
    names.forEach((name, i) => {
      mkdirSync(join(dir, name), { mode: 0o700 });
      own(join(dir, name));
      const file = join(dir, `${name}.yml`);
      writeFileSync(
        file,
        toYaml({
          scope: `bench-${process.pid}`,
          name,
          restapi: { listen: `127.0.0.1:${pairs[i]?.api}`, connect_address: `127.0.0.1:${pairs[i]?.api}` },
          etcd3: { hosts: [etcd!.endpoint.replace('http://', '')] },
          bootstrap: {
            dcs: {
              ...timing,
              maximum_lag_on_failover: 1048576,
              postgresql: { use_pg_rewind: true, use_slots: true, parameters: { wal_log_hints: 'on', max_connections: 40, shared_buffers: '32MB' } },
            },
            initdb: [{ encoding: 'UTF8' }, { locale: 'C' }],
          },
          postgresql: {
            listen: `127.0.0.1:${pairs[i]?.port}`,
            connect_address: `127.0.0.1:${pairs[i]?.port}`,
            data_dir: dataDir(name),
            bin_dir: '/usr/lib/postgresql/15/bin',
            pgpass: join(dir, name, 'pgpass'),
            authentication: {
              superuser: { username: 'postgres', password },
              replication: { username: 'replicator', password },
              rewind: { username: 'postgres', password },
            },
            pg_hba: ['host all all 127.0.0.1/32 scram-sha-256', 'host replication replicator 127.0.0.1/32 scram-sha-256'],
            parameters: { unix_socket_directories: join(dir, name), password_encryption: 'scram-sha-256' },
          },
        }),
        { mode: 0o600 },
      );
      own(file);
    });
    const start = (name: string) => {
      const out = openSync(join(dir, `${name}.log`), 'a');
      const child = spawn('/usr/bin/patroni', [join(dir, `${name}.yml`)], {
        stdio: ['ignore', out, out],
        detached: true,
        ...(user.switchTo ? { uid: user.uid, gid: user.gid } : {}),
        env: { PATH: process.env.PATH, HOME: dir },
      });
      closeSync(out);
      procs.set(name, child);
    };
    names.forEach(start);
    const cluster = async () => {
      for (const { api: port } of pairs) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/cluster`, { signal: AbortSignal.timeout(1000) });
          if (res.ok) return (await res.json()) as { members: { name: string; role: string; state: string; lag?: unknown }[] };
        } catch {
          // next
        }
      }
      throw new Error('no Patroni API answered');
    };
    return {
      name: 'patroni',
      endpoints,
      cred: { user: 'postgres', password },
      async waitStable(ms) {
        await waitFor(
          'Patroni: a leader and two streaming replicas',
          async () => {
            const c = await cluster();
            const leaders = c.members.filter((m) => m.role === 'leader' && m.state === 'running');
            const replicas = c.members.filter((m) => m.role === 'replica' && (m.state === 'running' || m.state === 'streaming') && typeof m.lag === 'number' && m.lag < 1048576);
            return leaders.length === 1 && replicas.length === 2;
          },
          { timeoutMs: ms, intervalMs: 250 },
        );
      },
      async leader() {
        const l = (await cluster()).members.find((m) => m.role === 'leader');
        if (!l) throw new Error('Patroni: no leader');
        return l.name;
      },
      killPostmaster(name) {
        killPostmaster(dataDir(name), `Patroni ${name}`);
      },
      crashHost: (name) => crashHostOf(procs.get(name)!, dataDir(name)),
      async restartHost(name) {
        start(name);
      },
      signalAgent: (name, signal) => void procs.get(name)?.kill(signal),
      haPids: (name) => (procs.get(name)?.pid ? [procs.get(name)!.pid!] : []),
      freezePostgres: (name, on) => freezeInstance(dataDir(name), on),
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
