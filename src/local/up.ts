/**
 * `pgwarden up`: a whole cluster on one host in one process — N PostgreSQL instances, their
 * agents and APIs, on one embedded memory store. The zero-setup way to try pgwarden. Running it
 * again on the same directory brings the same cluster back with its data.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { buildClusterReport, httpProber, type ClusterReport } from '../api/cluster-view.js';
import { MIN_TOKEN_BYTES, parseNodeConfig, proxyConfigSchema, readToken, validate } from '../config/index.js';
import { memberName } from '../config/schema.js';
import { MemoryBackend, MemoryStore } from '../store/memory.js';
import type { ClusterEvent } from '../store/types.js';
import { waitFor } from '../util/deadline.js';
import { createLogger, type Logger } from '../util/log.js';
import { buildNode, type RunningNode } from '../compose/agent.js';
import { startProxy, type RunningProxy } from '../compose/proxy.js';
import { throwawayCa, type ThrowawayCa } from './throwaway-ca.js';
import { startUpControl } from './up-control.js';
import type { FastifyInstance } from 'fastify';

export interface UpOptions {
  readonly dir: string;
  readonly nodes?: number;
  readonly portBase?: number;
  /** Overrides of the HA timings (tests use shorter ones). */
  readonly timing?: { loop_wait?: number; ttl?: number; retry_timeout?: number; primary_start_timeout?: number; primary_hang_timeout?: number };
  /** Extra pg_hba.conf lines for every node. */
  readonly pgHba?: readonly string[];
  /** Synchronous replication for every node (default off). */
  readonly sync?: { readonly mode: 'off' | 'on' | 'quorum'; readonly count?: number; readonly strict?: boolean };
  /** TLS required on the proxy, with a throwaway CA in DIR/tls (kept once made, as is this choice). */
  readonly tls?: boolean;
  readonly log?: Logger;
}

export interface UpCluster {
  readonly dir: string;
  /** The running nodes; `restartNode` replaces an entry. */
  readonly nodes: RunningNode[];
  readonly backend: MemoryBackend;
  readonly clusterFile: string;
  readonly pgpassFile: string;
  readonly superuser: { username: string; password: string };
  readonly ports: readonly { name: string; pg: number; api: number }[];
  /** The embedded proxy and its ports (read-write, read-only, HTTP admin). */
  readonly proxy: RunningProxy;
  readonly proxyPorts: { readonly rw: number; readonly ro: number; readonly admin: number };
  readonly proxyFile: string;
  /** The throwaway CA and certificates when the proxy requires TLS (`--tls`), else null. */
  readonly tls: ThrowawayCa | null;
  /** Resolves when a leader runs and every standby streams; rejects after `timeoutMs`. */
  waitStable(timeoutMs: number): Promise<ClusterReport>;
  report(): Promise<ClusterReport>;
  onEvent(fn: (e: ClusterEvent) => void): void;
  /** Starts a fresh agent for `name` (after its previous one was halted), as a host coming back. */
  restartNode(name: string): Promise<RunningNode>;
  /**
   * Adds a node (default name: the next nodeN): its YAML, its entry in the cluster file, and an
   * agent that registers it and clones it from the cluster. Returns once the agent runs.
   */
  addNode(name?: string): Promise<RunningNode>;
  /**
   * Takes a node out of this process: stops its agent and PostgreSQL, forgets it in the store and
   * in up.yaml; `purge` also deletes its files (an add undone, or node remove --purge).
   */
  dropNode(name: string, purge: boolean): Promise<void>;
  /** Stops every agent first (so nobody promotes while others stop), then every instance. */
  stop(): Promise<void>;
}

interface UpState {
  nodes: number;
  port_base: number;
  scope: string;
  /** Each node and its port slot; absent in files from before `node add` (then node1..nodeN). */
  members?: { name: string; index: number }[];
  tls?: boolean;
}

/** The role the proxy's health checks log in as: a member of pg_monitor, no superuser. */
const MONITOR_USER = 'pgwarden_monitor';
/** The role a rejoining old primary runs pg_rewind as: pg_rewind's functions only, no superuser. */
const REWIND_USER = 'pgwarden_rewind';

/** Ports are port_base + 1.. for PostgreSQL, + 101.. for the APIs, + 51..54 for the proxy and control. */
const MAX_NODES = 49;

const secret = () => randomBytes(18).toString('base64url');

/** The API token: 32 characters, the least readToken accepts. */
const token = () => randomBytes(24).toString('base64url');

/** The file's value, or a new one from `make` when there is none (or, with `minLength`, a shorter one from an older version). */
function readOrCreate(file: string, make: () => string, minLength = 1): string {
  if (existsSync(file)) {
    const value = readFileSync(file, 'utf8').trim();
    if (value.length >= minLength) return value;
  }
  const value = make();
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

export async function up(o: UpOptions): Promise<UpCluster> {
  const dir = resolve(o.dir);
  mkdirSync(join(dir, 'secrets'), { recursive: true, mode: 0o700 });
  mkdirSync(join(dir, 'nodes'), { recursive: true });
  mkdirSync(join(dir, 'logs'), { recursive: true });
  // The PostgreSQL OS user must traverse these to reach its own directories.
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'nodes'), 0o755);

  const stateFile = join(dir, 'up.yaml');
  const previous = existsSync(stateFile) ? (parseYaml(readFileSync(stateFile, 'utf8')) as UpState) : null;
  const count = o.nodes ?? previous?.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new Error(`--nodes must be between 1 and 9 (got ${count})`);
  const members = previous?.members ?? Array.from({ length: previous?.nodes ?? count }, (_, i) => ({ name: `node${i + 1}`, index: i }));
  const freeIndex = () => [...Array(MAX_NODES).keys()].find((i) => !members.some((m) => m.index === i));
  while (members.length < count) {
    const index = freeIndex()!;
    members.push({ name: `node${index + 1}`, index });
  }
  const state: UpState = {
    nodes: members.length,
    members,
    port_base: o.portBase ?? previous?.port_base ?? 15432,
    scope: previous?.scope ?? 'pgwarden',
    tls: o.tls === true || previous?.tls === true,
  };
  const saveState = () => writeFileSync(stateFile, toYaml({ ...state, nodes: members.length, members }));
  saveState();

  const sec = (n: string) => join(dir, 'secrets', n);
  const superPw = readOrCreate(sec('superuser'), secret);
  const replPw = readOrCreate(sec('replication'), secret);
  readOrCreate(sec('api_token'), token, MIN_TOKEN_BYTES);
  readOrCreate(sec('monitor'), secret);
  readOrCreate(sec('rewind'), secret);
  const pgpassFile = join(dir, '.pgpass');
  writeFileSync(pgpassFile, `127.0.0.1:*:*:postgres:${superPw}\n127.0.0.1:*:*:replicator:${replPw}\n`, { mode: 0o600 });
  chmodSync(pgpassFile, 0o600);

  const log = o.log ?? createLogger({ name: 'up', file: join(dir, 'logs', 'pgwarden.log') });
  const timing = { loop_wait: 1, ttl: 10, retry_timeout: 3, primary_start_timeout: 10, ...o.timing };
  const backend = new MemoryBackend(state.scope);
  const portsOf = (m: { name: string; index: number }) => ({ name: m.name, pg: state.port_base + m.index + 1, api: state.port_base + 100 + m.index + 1 });
  const ports = members.map(portsOf);
  const proxyPorts = { rw: state.port_base + 51, ro: state.port_base + 52, admin: state.port_base + 53 };
  const controlPort = state.port_base + 54;

  const ca = state.tls ? await throwawayCa(join(dir, 'tls')) : null;
  const configFor = (p: (typeof ports)[number]) => {
    const raw = {
      name: p.name,
      id: p.pg - state.port_base,
      scope: state.scope,
      data_dir: `nodes/${p.name}/data`,
      run_dir: `nodes/${p.name}/run`,
      postgresql: {
        listen: `127.0.0.1:${p.pg}`,
        connect_address: `127.0.0.1:${p.pg}`,
        superuser: { username: 'postgres', password_file: 'secrets/superuser' },
        replication: { username: 'replicator', password_file: 'secrets/replication' },
        monitor: { username: MONITOR_USER, password_file: 'secrets/monitor' },
        rewind: { username: REWIND_USER, password_file: 'secrets/rewind' },
        parameters: { shared_buffers: '64MB', max_connections: 50 },
        // With --tls the whole cluster runs on TLS: logins, replication and pg_rewind (verify-full).
        ...(ca ? { tls: { cert_file: ca.serverCert, key_file: ca.serverKey, ca_file: ca.caFile } } : {}),
        pg_hba: [...(o.pgHba ?? [])],
      },
      api: { listen: `127.0.0.1:${p.api}`, connect_address: `127.0.0.1:${p.api}`, auth_token_file: 'secrets/api_token' },
      store: { type: 'memory' },
      ...timing,
      ...syncKeys(o.sync),
      tags: { priority: 100, location: 'local' },
    };
    writeFileSync(join(dir, 'nodes', `${p.name}.yaml`), `# Written by pgwarden up (memory store: meaningful only inside pgwarden up).\n${toYaml(raw)}`);
    return parseNodeConfig(raw, dir);
  };
  const configs = ports.map(configFor);

  const clusterFile = join(dir, 'pgwarden.yaml');
  const writeClusterFile = () =>
    writeFileSync(
      clusterFile,
      `# Written by pgwarden up; the CLI reads it: pgwarden cluster show -c ${clusterFile}\n${toYaml({
        endpoints: ports.map((p) => `http://127.0.0.1:${p.api}`),
        auth_token_file: 'secrets/api_token',
        proxies: [`http://127.0.0.1:${proxyPorts.admin}`],
        up: `http://127.0.0.1:${controlPort}`,
      })}`,
    );
  writeClusterFile();

  const startNode = (cfg: (typeof configs)[number]) => buildNode(cfg, new MemoryStore(backend, cfg.ttl * 1000), log.child({ node: cfg.name })).start();
  const nodes: RunningNode[] = [];
  try {
    for (const cfg of configs) nodes.push(await startNode(cfg));
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop({ stopPostgres: true, revoke: true })));
    backend.close();
    throw err;
  }

  const proxyRaw = {
    name: 'proxy',
    scope: state.scope,
    store: { type: 'memory' },
    listen_rw: `127.0.0.1:${proxyPorts.rw}`,
    listen_ro: `127.0.0.1:${proxyPorts.ro}`,
    admin_listen: `127.0.0.1:${proxyPorts.admin}`,
    // Its nodes run max_connections 50: room is left for the agents and a direct superuser login.
    max_client_conn: 30,
    ...(ca ? { tls: { cert_file: ca.serverCert, key_file: ca.serverKey, mode: 'require' }, backend_tls: { mode: 'verify-full', ca_file: ca.caFile } } : {}),
    health_check: { user: MONITOR_USER, password_file: join(dir, 'secrets', 'monitor') },
  };
  const proxyFile = join(dir, 'proxy.yaml');
  writeFileSync(proxyFile, `# Written by pgwarden up (memory store: the proxy runs inside pgwarden up); pgwarden show nodes -c ${proxyFile}\n${toYaml(proxyRaw)}`);
  let proxy: RunningProxy;
  try {
    proxy = await startProxy(validate(proxyConfigSchema, proxyRaw), new MemoryStore(backend, timing.ttl * 1000), log.child({ proxy: 'proxy' }));
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop({ stopPostgres: true, revoke: true })));
    backend.close();
    throw err;
  }

  const probe = httpProber(2000);
  const reader = new MemoryStore(backend, timing.ttl * 1000);
  const report = async () => buildClusterReport(await reader.load(AbortSignal.timeout(2000)), probe);

  const cluster: UpCluster = {
    dir,
    nodes,
    backend,
    clusterFile,
    pgpassFile,
    proxy,
    proxyPorts,
    proxyFile,
    tls: ca,
    superuser: { username: 'postgres', password: superPw },
    ports,
    report,
    waitStable: (timeoutMs) =>
      waitFor(
        'a leader with every standby streaming',
        async () => {
          const r = await report();
          const ok = r.leader !== null && r.members.every((m) => (m.role === 'primary' ? m.status === '* running' : m.status === 'running' && m.streaming));
          return ok ? r : false;
        },
        { timeoutMs, intervalMs: 250 },
      ),
    onEvent(fn) {
      backend.subscribe((c) => {
        if (c.kind !== 'event') return;
        const e = backend.get(c.key);
        if (e) fn(JSON.parse(e.value) as ClusterEvent);
      });
    },
    async restartNode(name) {
      const i = configs.findIndex((c) => c.name === name);
      const cfg = configs[i];
      if (!cfg) throw new Error(`no node ${name}`);
      const node = await startNode(cfg);
      nodes[i] = node;
      return node;
    },
    async addNode(wanted) {
      const index = freeIndex();
      const name = wanted ?? `node${(index ?? 0) + 1}`;
      if (!memberName.safeParse(name).success) throw new UpRefusal(400, `"${name}" is not a valid node name: letters, digits, _ . - (max 63), starting with a letter or digit`);
      if (members.some((m) => m.name === name)) throw new UpRefusal(409, `${name} is already a node of this cluster`);
      if (index === undefined) throw new UpRefusal(409, `this cluster already has ${MAX_NODES} nodes, the most pgwarden up runs`);
      // `node add` of a name removed before is the operator readmitting it.
      await reader.readmit(name, AbortSignal.timeout(2000));
      const m = { name, index };
      members.push(m);
      ports.push(portsOf(m));
      configs.push(configFor(portsOf(m)));
      saveState();
      writeClusterFile();
      try {
        const node = await startNode(configs[configs.length - 1]!);
        nodes.push(node);
        log.info({ node: name }, 'node added');
        return node;
      } catch (err) {
        await cluster.dropNode(name, true);
        throw err;
      }
    },
    async dropNode(name, purge) {
      const i = members.findIndex((m) => m.name === name);
      if (i < 0) throw new UpRefusal(404, `${name} is not a node of this cluster`);
      const node = nodes.find((n) => n.name === name);
      if (node) {
        await node.agent.halt();
        await node.stop({ stopPostgres: true, revoke: true });
        nodes.splice(nodes.indexOf(node), 1);
      }
      await reader.unregister(name, AbortSignal.timeout(2000));
      members.splice(i, 1);
      ports.splice(
        ports.findIndex((p) => p.name === name),
        1,
      );
      configs.splice(
        configs.findIndex((c) => c.name === name),
        1,
      );
      saveState();
      writeClusterFile();
      if (purge) {
        rmSync(join(dir, 'nodes', name), { recursive: true, force: true });
        rmSync(join(dir, 'nodes', `${name}.yaml`), { force: true });
      }
      log.info({ node: name, purge }, 'node dropped');
    },
    async stop() {
      await control.close();
      await proxy.stop();
      await Promise.all(nodes.map((n) => n.agent.halt()));
      await Promise.all(nodes.map((n) => n.stop({ stopPostgres: true, revoke: true })));
      backend.close();
    },
  };
  let control: FastifyInstance;
  try {
    control = await startUpControl({ port: controlPort, token: readToken({ auth_token_file: sec('api_token') }, ['auth_token_file'])!, nodes: cluster });
  } catch (err) {
    await proxy.stop();
    await Promise.all(nodes.map((n) => n.stop({ stopPostgres: true, revoke: true })));
    backend.close();
    throw err;
  }
  return cluster;
}

/** An operation `pgwarden up` refused, with the HTTP status its control endpoint answers. */
export class UpRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The node YAML keys for a synchronous-replication choice. */
export function syncKeys(sync: UpOptions['sync']): Record<string, unknown> {
  if (!sync || sync.mode === 'off') return {};
  return { synchronous_mode: sync.mode, synchronous_node_count: sync.count ?? 1, synchronous_mode_strict: sync.strict ?? false };
}
