/**
 * Real 3-node clusters for integration tests, on either backend:
 *  - memory: `pgwarden up` in this process (agents share one embedded store);
 *  - etcd: a real etcd and one `pgwarden agent` process per node, as deployed.
 * Faults: kill -9 of a postmaster; a host crash (agent and every PostgreSQL process killed at
 * once, the lock left to expire); the host coming back (a fresh agent on the same data).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { ApiClient } from '../../src/client/api-client.js';
import type { ClusterReport } from '../../src/api/cluster-view.js';
import { throwawayCa } from '../../src/local/throwaway-ca.js';
import type { HttpTls } from '../../src/client/http.js';
import { syncKeys, up, type UpCluster, type UpOptions } from '../../src/local/up.js';
import { MemoryStore } from '../../src/store/memory.js';
import { DEFAULT_BIN_DIR } from '../../src/config/schema.js';
import { isAlive, readPostmasterPid } from '../../src/postgres/ctl.js';
import { instancePids, killInstance as killAll } from '../../src/postgres/instance-procs.js';
import { waitFor } from '../../src/util/deadline.js';
import { startEtcd, type TestEtcd } from './etcd.js';
import { freePortBase, freePorts } from './ports.js';
import type { Credentials, Endpoint } from './workload.js';

export const TIMING = { loop_wait: 0.5, ttl: 4, retry_timeout: 1.5, primary_start_timeout: 10 };
export const MAIN = resolve(import.meta.dirname, '../../src/main.js');

export interface ClusterHarness {
  readonly backend: 'memory' | 'etcd';
  readonly endpoints: readonly Endpoint[];
  readonly cred: Credentials;
  /** A file the CLI accepts with -c. */
  readonly clientConfigFile: string;
  /** The client side of api.tls (its CA, a client certificate), when the agents serve HTTPS. */
  readonly apiTls?: HttpTls | null;
  readonly ttlMs: number;
  report(): Promise<ClusterReport>;
  /** A leader, every standby streaming, and (when given) that many synchronous standbys recorded and exactly these members. */
  waitStable(timeoutMs: number, syncStandbys?: number, members?: readonly string[]): Promise<ClusterReport>;
  dataDir(name: string): string;
  /** Everything the agents logged so far. */
  logs(): string;
  postmasterPid(name: string): number | null;
  killPostmaster(name: string): number;
  crashHost(name: string): Promise<void>;
  restartHost(name: string): Promise<void>;
  /** The in-process cluster (memory backend only): its embedded proxy, its store backend. */
  readonly up?: UpCluster;
  /** The store the agents share (etcd backend only), for a proxy or a benchmark to join. */
  readonly store?: { readonly endpoints: readonly string[]; readonly scope: string };
  /** Sends a signal to one node's agent process alone (etcd backend only: there each agent is a process). */
  readonly signalAgent?: (name: string, signal: NodeJS.Signals) => void;
  /** The pid of one node's agent process (etcd backend only). */
  readonly agentPid?: (name: string) => number | null;
  /** Cuts one agent off the store (memory backend only; the fault lab does it for etcd). */
  readonly isolateFromStore?: (name: string, on: boolean) => void;
  stop(): Promise<void>;
}

/** The parts of a harness that only read the cluster through its API and data directories. */
function observers(client: ApiClient, dataDir: (name: string) => string) {
  const report = async () => (await client.get<ClusterReport>('/cluster')).body;
  return {
    report,
    waitStable: (ms: number, syncStandbys?: number, members?: readonly string[]) =>
      waitFor(
        `a leader with every standby streaming${syncStandbys === undefined ? '' : `, ${syncStandbys} of them synchronous`}${members ? `, members ${members.join(', ')}` : ''}`,
        async () => {
          const r = await report();
          const ok =
            r.leader !== null &&
            r.members.length > 0 &&
            r.members.every((m) => (m.name === r.leader ? m.status === '* running' : m.status === 'running' && m.streaming)) &&
            (syncStandbys === undefined || r.members.filter((m) => m.sync === 'sync' || m.sync === 'quorum').length === syncStandbys) &&
            (members === undefined ||
              r.members
                .map((m) => m.name)
                .sort()
                .join() === [...members].sort().join());
          return ok ? r : false;
        },
        { timeoutMs: ms, intervalMs: 200 },
      ),
    dataDir,
    postmasterPid: (name: string) => readPostmasterPid(dataDir(name)),
    killPostmaster: (name: string) => killPostmaster(dataDir(name), name),
  };
}

/**
 * A host crash takes every process of the instance at once, found by its data directory in /proc
 * (backends setsid(), so no process group holds them all; the same for pgwarden and Patroni).
 */
export function killInstance(dataDir: string): void {
  killAll({ dataDir, binary: join(DEFAULT_BIN_DIR, 'postgres') });
}

/** SIGSTOP (true) or SIGCONT (false) to every process of the instance; returns the pids signalled. */
export function freezeInstance(dataDir: string, on: boolean): number[] {
  const pids = instancePids({ dataDir, binary: join(DEFAULT_BIN_DIR, 'postgres') });
  for (const pid of pids) signalIfAlive(pid, on ? 'SIGSTOP' : 'SIGCONT');
  return pids;
}

/** A signal to a process that may have exited since it was listed (a backend ending meanwhile). */
export function signalIfAlive(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** kill -9 of an instance's postmaster alone; returns its pid. */
export function killPostmaster(dataDir: string, name: string): number {
  const pid = readPostmasterPid(dataDir);
  if (pid === null || !isAlive(pid)) throw new Error(`no running postmaster for ${name}`);
  process.kill(pid, 'SIGKILL');
  return pid;
}

/** A host crash: its HA process (agent or Patroni) and every PostgreSQL process killed at once. */
export async function crashHostOf(ha: ChildProcess, dataDir: string): Promise<void> {
  const exited = new Promise((r) => ha.once('exit', r));
  ha.kill('SIGKILL');
  killInstance(dataDir);
  await exited;
}

export async function memoryCluster(opts: { pgHba?: string[]; timing?: UpOptions['timing']; tls?: boolean } = {}): Promise<ClusterHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-mem-'));
  const portBase = await freePortBase(110);
  let cluster: UpCluster;
  try {
    cluster = await up({ dir, nodes: 3, portBase, timing: { ...TIMING, ...opts.timing }, pgHba: opts.pgHba ?? [], tls: opts.tls });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const client = new ApiClient(
    cluster.ports.map((p) => `http://127.0.0.1:${p.api}`),
    undefined,
    3000,
  );
  const dataDir = (name: string) => join(dir, 'nodes', name, 'data');
  return {
    backend: 'memory',
    up: cluster,
    endpoints: cluster.ports.map((p) => ({ name: p.name, port: p.pg })),
    cred: { user: cluster.superuser.username, password: cluster.superuser.password, ...(cluster.tls ? { ssl: { ca: readFileSync(cluster.tls.caFile) } } : {}) },
    clientConfigFile: cluster.clusterFile,
    ttlMs: TIMING.ttl * 1000,
    logs: () => readFileSync(join(dir, 'logs', 'pgwarden.log'), 'utf8'),
    ...observers(client, dataDir),
    async crashHost(name) {
      const node = cluster.nodes.find((n) => n.name === name)!;
      killInstance(dataDir(name));
      await node.agent.halt();
      await node.api.close();
      await node.pg.close();
    },
    async restartHost(name) {
      await cluster.restartNode(name);
    },
    isolateFromStore(name, on) {
      const store = cluster.nodes.find((n) => n.name === name)!.store;
      if (!(store instanceof MemoryStore)) throw new Error('not a memory store');
      store.setPartitioned(on);
    },
    async stop() {
      await cluster.stop().catch(() => {});
      for (const n of cluster.ports) killInstance(dataDir(n.name));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function etcdCluster(
  opts: {
    timing?: typeof TIMING;
    nodes?: number;
    parameters?: Record<string, string | number>;
    sync?: UpOptions['sync'];
    /** Tags of some nodes (node.yaml `tags`). */
    tags?: Record<string, Record<string, unknown>>;
    /** Nodes whose agents start only on restartHost(): hosts added later. */
    later?: readonly string[];
    /** postgresql.tls on every node, from a throwaway CA: TLS logins only, replication and rewind verify-full. */
    pgTls?: boolean;
    /** api.tls on every node (client certificates required), from a throwaway CA; the client file names it. */
    apiTls?: boolean;
    /** api.allowlist of some nodes. */
    apiAllowlist?: Record<string, string[]>;
    /** etcd over https with client certificates required (--client-cert-auth); the agents present theirs. */
    etcdTls?: boolean;
    /** The agents' log level: debug (default) for post-mortems, info as an operator would run them. */
    logLevel?: 'debug' | 'info';
  } = {},
): Promise<ClusterHarness> {
  const timing = opts.timing ?? TIMING;
  const count = opts.nodes ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'pgw-etcd-cluster-'));
  chmodSync(dir, 0o755);
  let etcd: TestEtcd | null = null;
  const agents = new Map<string, ChildProcess>();
  const names = Array.from({ length: count }, (_, i) => `node${i + 1}`);
  const dataDir = (name: string) => join(dir, name, 'data');
  const cleanup = async () => {
    for (const a of agents.values()) if (a.exitCode === null) a.kill('SIGKILL');
    for (const n of names) killInstance(dataDir(n));
    await etcd?.stop();
    // PGW_KEEP_TEST_DIRS=1 keeps logs and data of a run for a post-mortem.
    if (process.env.PGW_KEEP_TEST_DIRS) console.log(`# kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports = await freePorts(count * 2);
    const password = `pw-${process.pid}-${Date.now()}`;
    mkdirSync(join(dir, 'secrets'), { mode: 0o700 });
    writeFileSync(join(dir, 'secrets', 'superuser'), password, { mode: 0o600 });
    writeFileSync(join(dir, 'secrets', 'replication'), `repl-${password}`, { mode: 0o600 });
    writeFileSync(join(dir, 'secrets', 'rewind'), `rewind-${password}`, { mode: 0o600 });
    writeFileSync(join(dir, 'secrets', 'api_token'), `test-token-${randomBytes(16).toString('hex')}`, { mode: 0o600 });
    const ca = opts.pgTls || opts.apiTls || opts.etcdTls ? await throwawayCa(join(dir, 'tls')) : null;
    etcd = await startEtcd(opts.etcdTls && ca ? { tls: ca } : {});
    const storeTls = opts.etcdTls && ca ? { ca_file: ca.caFile, cert_file: ca.clientCert, key_file: ca.clientKey } : {};
    const apiTls = opts.apiTls && ca ? { cert_file: ca.serverCert, key_file: ca.serverKey, ca_file: ca.caFile, verify_client: true } : null;
    const scheme = apiTls ? 'https' : 'http';
    const endpoints: Endpoint[] = [];
    const apiUrls: string[] = [];
    names.forEach((name, i) => {
      const [pgPort, apiPort] = ports.slice(i * 2, i * 2 + 2);
      if (pgPort === undefined || apiPort === undefined) throw new Error('not enough free ports');
      endpoints.push({ name, port: pgPort });
      apiUrls.push(`${scheme}://127.0.0.1:${apiPort}`);
      mkdirSync(join(dir, name), { mode: 0o755 });
      chmodSync(join(dir, name), 0o755);
      writeFileSync(
        join(dir, `${name}.yaml`),
        toYaml({
          name,
          id: i + 1,
          scope: 'itest',
          data_dir: dataDir(name),
          run_dir: join(dir, name, 'run'),
          postgresql: {
            listen: `127.0.0.1:${pgPort}`,
            connect_address: `127.0.0.1:${pgPort}`,
            superuser: { username: 'postgres', password_file: join(dir, 'secrets', 'superuser') },
            replication: { username: 'replicator', password_file: join(dir, 'secrets', 'replication') },
            // Every rejoin in these tests rewinds with the least-privilege role.
            rewind: { username: 'pgwarden_rewind', password_file: join(dir, 'secrets', 'rewind') },
            parameters: opts.parameters ?? { shared_buffers: '32MB', max_connections: 40 },
            ...(ca && opts.pgTls ? { tls: { cert_file: ca.serverCert, key_file: ca.serverKey, ca_file: ca.caFile } } : {}),
          },
          api: {
            listen: `127.0.0.1:${apiPort}`,
            connect_address: `127.0.0.1:${apiPort}`,
            auth_token_file: join(dir, 'secrets', 'api_token'),
            ...(apiTls ? { tls: apiTls } : {}),
            ...(opts.apiAllowlist?.[name] ? { allowlist: opts.apiAllowlist[name] } : {}),
          },
          store: { type: 'etcd', endpoints: [etcd!.endpoint], ...storeTls },
          ...timing,
          ...syncKeys(opts.sync),
          ...(opts.tags?.[name] ? { tags: opts.tags[name] } : {}),
          log: { level: opts.logLevel ?? 'debug', file: join(dir, name, 'agent.log') },
        }),
      );
    });
    const clientTls = apiTls && ca ? { ca_file: ca.caFile, cert_file: ca.clientCert, key_file: ca.clientKey } : {};
    writeFileSync(join(dir, 'cluster.yaml'), toYaml({ endpoints: apiUrls, auth_token_file: join(dir, 'secrets', 'api_token'), ...clientTls }));
    const startAgent = (name: string) => {
      const out = openSync(join(dir, name, 'agent.out'), 'a');
      const child = spawn(process.execPath, [MAIN, 'agent', '-c', join(dir, `${name}.yaml`)], { stdio: ['ignore', out, out], detached: true });
      closeSync(out);
      agents.set(name, child);
    };
    names.filter((n) => !opts.later?.includes(n)).forEach(startAgent);
    const clientHttpTls = apiTls && ca ? { ca: readFileSync(ca.caFile), cert: readFileSync(ca.clientCert), key: readFileSync(ca.clientKey) } : null;
    const client = new ApiClient(apiUrls, undefined, 3000, clientHttpTls);
    return {
      backend: 'etcd',
      endpoints,
      store: { endpoints: [etcd.endpoint], scope: 'itest' },
      cred: { user: 'postgres', password, ...(ca && opts.pgTls ? { ssl: { ca: readFileSync(ca.caFile) } } : {}) },
      clientConfigFile: join(dir, 'cluster.yaml'),
      apiTls: clientHttpTls,
      ttlMs: timing.ttl * 1000,
      logs: () =>
        names
          .filter((n) => agents.has(n))
          .map((n) => readFileSync(join(dir, n, 'agent.log'), 'utf8'))
          .join('\n'),
      ...observers(client, dataDir),
      crashHost: (name) => crashHostOf(agents.get(name)!, dataDir(name)),
      async restartHost(name) {
        startAgent(name);
      },
      signalAgent(name, signal) {
        agents.get(name)?.kill(signal);
      },
      agentPid: (name) => agents.get(name)?.pid ?? null,
      async stop() {
        // Agents first (a clean stop would hand the lock over and restart things), then instances.
        for (const a of agents.values()) if (a.exitCode === null) a.kill('SIGKILL');
        await cleanup();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
