/**
 * npm run bench:proxy [-- --rounds N] [-- --seconds S] [-- --scale N] [-- --workloads select_only,extended,tpcb,connect]
 *
 * A primary and two standbys (pgwarden agents on a real etcd, SCRAM on every TCP line), pgbench
 * on the same host, back to back in one run: select-only (simple and extended protocol), TPC-B-like
 * read/write, and select-only with a new connection per transaction (-C), through: direct (the
 * primary), HAProxy (TCP relay), PgBouncer (transaction pooling), pgpool-II (load balancing) and
 * a `pgwarden proxy` process (rw port; ro port too for the read-only workloads). Every round runs
 * every pair; the table gives median TPS, median latency and the median of each round's ratio to
 * direct. The proxy's RSS is read idle and sampled under load. Then over TLS (throwaway CA;
 * pgbench with sslmode=require): select-only and TPC-B-like through direct PostgreSQL, PgBouncer and
 * the proxy, each terminating the client's TLS; and the proxy's RSS while one 900 MB message
 * passes. Two references tell Node's own cost from the proxy's: a bare Node relay to the primary
 * (node_relay: bytes only, through the proxy's fast read path; the ceiling of any Node proxy's TPS)
 * in every round, and the RSS of a Node process that loads only the proxy's third-party modules
 * (the floor of its RSS). The last line is JSON.
 */
import { spawn } from 'node:child_process';
import pg from 'pg';
import { chmodSync, closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify as toYaml } from 'yaml';
import { serverFilesFor, throwawayCa, type ThrowawayCa } from '../src/local/throwaway-ca.js';
import { resolveOsUser } from '../src/postgres/os-user.js';
import { waitFor } from '../src/util/deadline.js';
import { etcdCluster, MAIN, type ClusterHarness } from '../test/support/cluster.js';
import { freePorts } from '../test/support/ports.js';
import { wholeNumbers } from './args.js';
import { pgbench, prepareDatabase, sql, type PgbenchResult } from '../test/support/pgbench.js';
import { cpuSeconds, ensurePeers, Peers, processGroup, rssMb } from './proxy-peers.js';
import { median } from './stats.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '20' }, scale: { type: 'string', default: '10' }, workloads: { type: 'string' } },
});
const { rounds, seconds, scale } = wholeNumbers({ rounds: values.rounds, seconds: values.seconds, scale: values.scale });

const DB = 'bench';
const WORKLOADS = {
  select_only: { args: ['-S', '-c', '8', '-j', '2', '-M', 'simple'], seconds, ro: true },
  extended: { args: ['-S', '-c', '8', '-j', '2', '-M', 'extended'], seconds, ro: true },
  tpcb: { args: ['-c', '8', '-j', '2'], seconds, ro: false },
  connect: { args: ['-S', '-C', '-c', '4', '-j', '2'], seconds: Math.max(1, Math.round(seconds * 0.75)), ro: true },
} as const;
type Workload = keyof typeof WORKLOADS;
const chosen = (values.workloads?.split(',') ?? Object.keys(WORKLOADS)) as Workload[];
for (const w of chosen) {
  if (!(w in WORKLOADS)) {
    console.error(`--workloads: unknown workload ${w} (known: ${Object.keys(WORKLOADS).join(', ')})`);
    process.exit(2);
  }
}
type Target = 'direct' | 'haproxy' | 'pgbouncer' | 'pgpool' | 'pgwarden_rw' | 'pgwarden_ro' | 'node_relay';

/** A reference process of node-relay.ts, once it printed "ready". */
async function startReference(args: string[]): Promise<{ pid: number; stop(): void }> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'node-relay.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stop = () => void (child.exitCode === null && child.kill('SIGKILL'));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node-relay.js ${args[0]} not ready within 30 s`)), 30_000);
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && (clearTimeout(timer), resolve()));
      child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`node-relay.js ${args[0]} exited with ${code}`))));
    });
  } catch (err) {
    stop();
    throw err;
  }
  return { pid: child.pid!, stop };
}

/** RSS of a Node process with only the proxy's modules loaded, settled (three equal reads 500 ms apart). */
async function moduleFloorMb(): Promise<number> {
  const ref = await startReference(['modules']);
  try {
    const reads: number[] = [];
    await waitFor(
      'the module floor process to settle',
      async () => {
        reads.push(rssMb([ref.pid]));
        return reads.length >= 3 && reads.slice(-3).every((r) => Math.abs(r - reads.at(-1)!) < 0.5);
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    );
    return reads.at(-1)!;
  } finally {
    ref.stop();
  }
}

async function startPgwardenProxy(c: ClusterHarness, dir: string, ca: ThrowawayCa): Promise<{ rw: number; ro: number; pid: number; stop(): void }> {
  const [rw, ro] = await freePorts(2);
  writeFileSync(join(dir, 'pw'), c.cred.password, { mode: 0o600 });
  writeFileSync(
    join(dir, 'proxy.yaml'),
    toYaml({
      name: 'bench-proxy',
      scope: c.store!.scope,
      store: { type: 'etcd', endpoints: c.store!.endpoints },
      listen_rw: `127.0.0.1:${rw}`,
      listen_ro: `127.0.0.1:${ro}`,
      health_check: { user: 'postgres', password_file: join(dir, 'pw') },
      // TLS for the clients that ask (the TLS runs): plain ones are served as before.
      tls: { cert_file: ca.serverCert, key_file: ca.serverKey, mode: 'allow' },
      log: { level: 'warn', file: join(dir, 'proxy.log') },
    }),
  );
  const out = openSync(join(dir, 'proxy.out'), 'a');
  const child = spawn(process.execPath, [MAIN, 'proxy', '-c', join(dir, 'proxy.yaml')], { stdio: ['ignore', out, out] });
  closeSync(out);
  const stop = () => void (child.exitCode === null && child.kill('SIGKILL'));
  try {
    for (const port of [rw!, ro!]) {
      await waitFor(
        `pgwarden proxy to route port ${port}`,
        async () => {
          if (child.exitCode !== null) throw new Error(`pgwarden proxy exited with ${child.exitCode} (see ${dir}/proxy.out)`);
          return (await sql(port, c.cred.password, DB, 'SELECT 1 AS one').catch(() => null))?.rows[0].one === 1;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
    }
  } catch (err) {
    stop();
    throw err;
  }
  return { rw: rw!, ro: ro!, pid: child.pid!, stop };
}

const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;

async function main(): Promise<void> {
  ensurePeers();
  const dir = mkdtempSync(join(tmpdir(), 'pgw-bench-proxy-'));
  chmodSync(dir, 0o755);
  console.log(`bench:proxy: ${rounds} round(s), ${seconds} s per run, scale ${scale}, pgbench on this host (${dir})`);
  const ca = await throwawayCa(join(dir, 'tls'));
  const server = serverFilesFor(ca, join(dir, 'server-tls'), resolveOsUser());
  const cluster = await etcdCluster({
    timing: { loop_wait: 1, ttl: 10, retry_timeout: 3, primary_start_timeout: 10 },
    parameters: { shared_buffers: '128MB', max_connections: 200, ssl: 'on', ssl_cert_file: server.cert, ssl_key_file: server.key },
  });
  const peers = new Peers(join(dir, 'peers'));
  let proxy: Awaited<ReturnType<typeof startPgwardenProxy>> | null = null;
  let relay: Awaited<ReturnType<typeof startReference>> | null = null;
  try {
    const report = await cluster.waitStable(180_000);
    const primary = cluster.endpoints.find((e) => e.name === report.leader)!;
    const backends = [primary, ...cluster.endpoints.filter((e) => e !== primary)].map((e) => ({ name: e.name, port: e.port, dataDir: cluster.dataDir(e.name) }));
    await prepareDatabase(cluster, primary.port, DB, scale);
    proxy = await startPgwardenProxy(cluster, dir, ca);
    await peers.start(backends, DB, cluster.cred.user, cluster.cred.password, server);
    const [relayPort] = await freePorts(1);
    relay = await startReference(['relay', String(relayPort), String(primary.port)]);
    const port: Record<Target, number> = { direct: primary.port, pgwarden_rw: proxy.rw, pgwarden_ro: proxy.ro, node_relay: relayPort!, haproxy: 0, pgbouncer: 0, pgpool: 0 };
    for (const p of peers.list) port[p.name] = p.port;

    const rssIdle = rssMb([proxy.pid]);
    const rssFloor = await moduleFloorMb();
    let rssLoad = 0;
    let relayRssLoad = 0;
    const peerRss: Record<string, number> = {};
    const results = new Map<string, PgbenchResult[]>();
    const ratios = new Map<string, number[]>();
    // The relay's CPU per transaction: steadier between rounds than TPS, which moves with everything else on the host.
    const cpuUs = new Map<string, number[]>();
    for (let round = 1; round <= rounds; round++) {
      for (const w of chosen) {
        const spec = WORKLOADS[w];
        const targets: Target[] = ['direct', 'haproxy', 'pgbouncer', 'pgpool', 'pgwarden_rw', ...(spec.ro ? ['pgwarden_ro' as const] : []), 'node_relay'];
        let direct = 0;
        for (const t of targets) {
          const sampled = t.startsWith('pgwarden') ? [proxy.pid] : t === 'node_relay' ? [relay.pid] : t === 'direct' ? [] : processGroup(peers.list.find((p) => p.name === t)!.pid);
          const sampler = setInterval(() => {
            const mb = rssMb(sampled);
            if (t.startsWith('pgwarden')) rssLoad = Math.max(rssLoad, mb);
            else if (t === 'node_relay') relayRssLoad = Math.max(relayRssLoad, mb);
            else if (t !== 'direct') peerRss[t] = Math.max(peerRss[t] ?? 0, mb);
          }, 250);
          const cpu0 = cpuSeconds(sampled);
          // Plain on purpose: PostgreSQL, PgBouncer and the proxy all offer TLS now, which libpq's default (prefer) would take.
          const res = await pgbench(port[t], cluster.cred.password, DB, spec.args, spec.seconds, 'disable').finally(() => clearInterval(sampler));
          const cpu = (cpuSeconds(sampled) - cpu0) / spec.seconds;
          if (t === 'direct') direct = res.tps;
          const key = `${w}/${t}`;
          results.set(key, [...(results.get(key) ?? []), res]);
          ratios.set(key, [...(ratios.get(key) ?? []), res.tps / direct]);
          if (sampled.length) cpuUs.set(key, [...(cpuUs.get(key) ?? []), (cpu * 1e6) / res.tps]);
          console.log(
            `  round ${round} ${w.padEnd(11)} ${t.padEnd(11)} ${res.tps.toFixed(0).padStart(6)} tps  ${res.latencyMs.toFixed(2).padStart(6)} ms  ${(res.tps / direct).toFixed(2)} x direct${sampled.length ? `  proxy CPU ${Math.round(cpu * 100)} %` : ''}`,
          );
        }
      }
    }

    // Over TLS: the client's TLS ends at PostgreSQL itself, at PgBouncer, at the proxy.
    const tlsWorkloads = chosen.filter((w) => w === 'select_only' || w === 'tpcb');
    const tlsRuns = new Map<string, number[]>();
    for (let round = 1; round <= rounds; round++) {
      for (const w of tlsWorkloads) {
        for (const t of ['direct', 'pgbouncer', 'pgwarden_rw'] as const) {
          const res = await pgbench(port[t], cluster.cred.password, DB, WORKLOADS[w].args, WORKLOADS[w].seconds, 'require');
          tlsRuns.set(`${w}/${t}`, [...(tlsRuns.get(`${w}/${t}`) ?? []), res.tps]);
          console.log(`  round ${round} TLS ${w.padEnd(11)} ${t.padEnd(11)} ${res.tps.toFixed(0).padStart(6)} tps  ${res.latencyMs.toFixed(2).padStart(6)} ms`);
        }
      }
    }
    const tlsTps: Record<string, Record<string, number>> = {};
    for (const [key, runs] of tlsRuns) {
      const [w, t] = key.split('/') as [string, string];
      (tlsTps[w] ??= {})[t] = Math.round(median(runs));
    }
    const bigMessage = await rssWhileBigMessage(proxy, cluster.cred.password);

    const tps: Record<string, Record<string, number>> = {};
    const lines = ['| workload | target | TPS (median) | latency ms (median) | ratio to direct (median) | relay CPU µs per transaction (median) |', '|---|---|---|---|---|---|'];
    const cpuPerTxn: Record<string, Record<string, number>> = {};
    for (const [key, rs] of results) {
      const [w, t] = key.split('/') as [Workload, Target];
      const m = median(rs.map((r) => r.tps));
      (tps[w] ??= {})[t] = Math.round(m);
      const us = cpuUs.get(key);
      if (us) (cpuPerTxn[w] ??= {})[t] = r1(median(us));
      lines.push(`| ${w} | ${t} | ${Math.round(m)} | ${median(rs.map((r) => r.latencyMs)).toFixed(2)} | ${median(ratios.get(key)!).toFixed(2)} | ${us ? r1(median(us)) : ''} |`);
    }
    // Issue 14's goals: lead the C relays on the read-write port (medians of the rounds, same run).
    const ratio = (w: Workload, a: Target, b: Target) => (tps[w]?.[a] && tps[w]?.[b] ? r2(tps[w][a] / tps[w][b]) : null);
    const vs = (w: Workload, peer: Target) => ratio(w, 'pgwarden_rw', peer);
    const goals = {
      select_only_vs_haproxy: vs('select_only', 'haproxy'),
      select_only_vs_pgbouncer: vs('select_only', 'pgbouncer'),
      extended_vs_haproxy: vs('extended', 'haproxy'),
      extended_vs_pgbouncer: vs('extended', 'pgbouncer'),
      tpcb_vs_haproxy: vs('tpcb', 'haproxy'),
      tpcb_vs_pgbouncer: vs('tpcb', 'pgbouncer'),
      connect_vs_haproxy: vs('connect', 'haproxy'),
      rss_load_mb: r1(rssLoad),
    };
    // The same ratios for the bare Node relay: what no Node proxy can exceed on this host.
    const ceiling = Object.fromEntries(
      chosen.flatMap((w) => [
        [`${w}_vs_haproxy`, ratio(w, 'node_relay', 'haproxy')],
        [`${w}_vs_pgbouncer`, ratio(w, 'node_relay', 'pgbouncer')],
        [`${w}_proxy_vs_relay`, ratio(w, 'pgwarden_rw', 'node_relay')],
      ]),
    );
    const wanted: [number | null, number][] = [
      [goals.select_only_vs_haproxy, 1.1],
      [goals.select_only_vs_pgbouncer, 1.0],
      [goals.extended_vs_haproxy, 1.1],
      [goals.extended_vs_pgbouncer, 1.0],
      [goals.tpcb_vs_haproxy, 1.1],
      [goals.tpcb_vs_pgbouncer, 1.0],
      [goals.connect_vs_haproxy, 1.0],
    ];
    const met = wanted.every(([got, goal]) => got === null || got >= goal) && rssLoad <= 64;
    console.log(`\n${lines.join('\n')}\n`);
    console.log(
      `pgwarden proxy RSS: idle ${r1(rssIdle)} MB, under load (max) ${r1(rssLoad)} MB; peers under load: ${Object.entries(peerRss)
        .map(([k, v]) => `${k} ${r1(v)} MB`)
        .join(', ')}`,
    );
    for (const [w, t] of Object.entries(tlsTps)) {
      console.log(
        `over TLS, ${w}: direct ${t.direct} tps, PgBouncer ${t.pgbouncer} tps, pgwarden proxy ${t.pgwarden_rw} tps (${r2(t.pgwarden_rw! / t.pgbouncer!)} x PgBouncer, ${r2(t.pgwarden_rw! / t.direct!)} x direct)`,
      );
    }
    console.log(
      `references: a bare Node relay (bytes only) ${chosen.map((w) => `${w} ${ceiling[`${w}_vs_haproxy`]} x HAProxy, ${ceiling[`${w}_vs_pgbouncer`]} x PgBouncer (the proxy at ${ceiling[`${w}_proxy_vs_relay`]} x the relay)`).join('; ')}; ` +
        `its RSS under load ${r1(relayRssLoad)} MB. A Node process with only the proxy's modules loaded: ${r1(rssFloor)} MB RSS`,
    );
    console.log(`pgwarden proxy RSS while one 900 MB message passed: ${r1(bigMessage.before)} MB before, ${r1(bigMessage.peak)} MB at most`);
    console.log(
      `goals (rw port): select-only ${goals.select_only_vs_haproxy} x HAProxy (>= 1.1), ${goals.select_only_vs_pgbouncer} x PgBouncer (>= 1.0); ` +
        `extended ${goals.extended_vs_haproxy} / ${goals.extended_vs_pgbouncer}; TPC-B ${goals.tpcb_vs_haproxy} / ${goals.tpcb_vs_pgbouncer}; ` +
        `connect ${goals.connect_vs_haproxy} x HAProxy (>= 1.0); RSS under load ${goals.rss_load_mb} MB (<= 64): ${met ? 'met' : 'NOT met'}`,
    );
    console.log(
      JSON.stringify({
        bench: 'proxy',
        rounds,
        seconds,
        scale,
        select_only_tps: tps.select_only,
        extended_tps: tps.extended,
        tpcb_tps: tps.tpcb,
        connect_tps: tps.connect,
        relay_cpu_us_per_transaction: cpuPerTxn,
        rss_mb: { idle: r1(rssIdle), load: r1(rssLoad) },
        peer_rss_mb: peerRss,
        tls_tps: tlsTps,
        rss_900mb_message_mb: { before: r1(bigMessage.before), peak: r1(bigMessage.peak) },
        goals,
        goals_met: met,
        references: { node_relay: { ...ceiling, rss_load_mb: r1(relayRssLoad) }, module_floor_rss_mb: r1(rssFloor) },
      }),
    );
  } finally {
    proxy?.stop();
    relay?.stop();
    await peers.stop();
    await cluster.stop();
    if (process.env.PGW_KEEP_TEST_DIRS) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** One 900 MB bytea through the read-write port; the proxy's RSS sampled every 50 ms meanwhile. */
async function rssWhileBigMessage(proxy: { rw: number; pid: number }, password: string): Promise<{ before: number; peak: number }> {
  const client = new pg.Client({ host: '127.0.0.1', port: proxy.rw, user: 'postgres', password, database: DB });
  await client.connect();
  const before = rssMb([proxy.pid]);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb([proxy.pid]))), 50);
  try {
    const big = Buffer.alloc(900 * 1024 * 1024, 7);
    const { rows } = await client.query('SELECT length($1::bytea) AS n', [big]);
    if (Number(rows[0].n) !== big.length) throw new Error(`the 900 MB message arrived as ${rows[0].n} bytes`);
  } finally {
    clearInterval(sampler);
    await client.end();
  }
  return { before, peak };
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
