/**
 * npm run test:nemesis -- --faults N --seed S [--sync on]: one lab cluster (3 database hosts, a
 * 3-member etcd, a proxy on the client host), then N faults drawn from the catalogue (faults.ts),
 * one after another, some as overlapping pairs on two hosts; each held for a random time, healed,
 * and followed by reconvergence. Two writers run throughout (one on direct connections that stays
 * on its node until it fails, one through the proxy) with the split-brain sampler. Writes
 * nemesis-report.{md,json} to LAB_REPORT_DIR (default test/lab/out/): per fault kind the count, the
 * longest write outage (min/median/max), acknowledged writes lost and split-brain samples.
 * Fails on any split-brain sample, any lost acknowledged write in synchronous mode, or a cluster
 * that does not reconverge. Needs root.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { errorMessage } from '../../src/util/errors.js';
import { longestGap } from '../support/workload.js';
import { LAB_TIMING, startLabCluster, type Ack, type LabCluster } from './cluster.js';
import { FAULTS, OVERLAPPABLE, pick, type Fault, type Random } from './faults.js';
import { keepLogs } from './keep-logs.js';
import { preflight, tearDownOnSignal } from './preflight.js';
import { leaderOf, sleep } from './scenario.js';

interface FaultRecord {
  readonly n: number;
  readonly kinds: readonly string[];
  readonly targets: readonly string[];
  readonly primaryBefore: string;
  /** Wall-clock ms of the injection. */
  readonly t0: number;
  readonly held_s: number;
  /** The longest time with no acknowledged write, from the fault's start to reconvergence (s). */
  readonly outage_s: number;
  readonly proxy_outage_s: number;
  readonly reconverged_s: number;
  lost: number;
  splits: number;
}

const { values } = parseArgs({
  options: { faults: { type: 'string', default: '20' }, seed: { type: 'string' }, sync: { type: 'string', default: 'off' } },
});
const count = Number(values.faults);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(seed) || !['on', 'off'].includes(values.sync ?? '')) {
  console.error('usage: npm run test:nemesis -- --faults N --seed S [--sync on|off]');
  process.exit(2);
}
preflight();

/** mulberry32: a small seeded generator, so a run is reproducible from its seed. */
function seeded(s: number): Random {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The longest stretch within [from, to] with no acknowledged write (wall ms → s). */
const outage = (acks: readonly Ack[], from: number, to: number) => Math.round(longestGap(acks, from, to) / 100) / 10;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const rnd = seeded(seed);
const sync = values.sync === 'on' ? ('on' as const) : undefined;
console.log(`nemesis: ${count} faults, seed ${seed}, synchronous_mode ${values.sync}`);
let c: LabCluster | null = null;
tearDownOnSignal(() => c);

const outDir = resolve(process.env.LAB_REPORT_DIR ?? resolve(import.meta.dirname, '../../../test/lab/out'));
mkdirSync(outDir, { recursive: true });
const records: FaultRecord[] = [];
const problems: string[] = [];
const started = Date.now();
try {
  c = await startLabCluster({ dbHosts: 3, proxy: true, diskMb: 512, ...(sync ? { sync } : {}) });
  const ttlMs = c.timing.ttl * 1000;
  for (let n = 1; n <= count; n++) {
    const primary = await leaderOf(c);
    const first = pick(rnd, FAULTS);
    const hits: { f: Fault; host: string }[] = [{ f: first, host: await first.target(c, primary, rnd) }];
    if (OVERLAPPABLE.has(first.kind) && rnd() < 0.2) {
      const second = pick(
        rnd,
        FAULTS.filter((f) => OVERLAPPABLE.has(f.kind)),
      );
      const host = await second.target(c, primary, rnd);
      if (host !== hits[0]?.host) hits.push({ f: second, host });
    }
    // 0.2 to 1.4 ttl: a third of the faults outlast the lock, the others heal before it may expire.
    const drawn = Math.round(ttlMs * (0.2 + 1.2 * rnd()));
    const holdMs = hits.every((h) => h.f.instant) ? 1000 : drawn;
    const t0 = Date.now();
    for (const h of hits) await h.f.inject(c, h.host);
    await sleep(holdMs);
    for (const h of hits) await h.f.heal(c, h.host);
    await c.waitConverged(180_000, `the cluster to reconverge after fault ${n} (${hits.map((h) => `${h.f.kind}@${h.host}`).join(' + ')})`);
    const t2 = Date.now();
    const rec: FaultRecord = {
      n,
      kinds: hits.map((h) => h.f.kind),
      targets: hits.map((h) => (h.host === primary ? `${h.host} (primary)` : h.host)),
      primaryBefore: primary,
      t0,
      held_s: holdMs / 1000,
      outage_s: outage(c.acks, t0, t2),
      proxy_outage_s: outage(c.proxyAcks, t0, t2),
      reconverged_s: Math.round((t2 - t0 - holdMs) / 100) / 10,
      lost: 0,
      splits: c.splits.filter((s) => s.at >= t0 && s.at <= t2).length,
    };
    records.push(rec);
    console.log(
      `  ${n}/${count} ${rec.kinds.join(' + ')} on ${rec.targets.join(', ')}: held ${rec.held_s} s, outage ${rec.outage_s} s (proxy ${rec.proxy_outage_s} s), reconverged ${rec.reconverged_s} s after the heal`,
    );
  }

  // Every acknowledged write must be on the final primary (asynchronous mode: losses are counted).
  await c.stopChecker();
  const final = await c.waitConverged(120_000, 'the cluster to converge after the last fault');
  const leader = final.leader!;
  for (const [acks, table] of [
    [c.acks, 'lab_acked'],
    [c.proxyAcks, 'lab_proxy_acked'],
  ] as const) {
    const onPrimary = await c.idsOn(leader, table);
    // A lost write is put down to the fault in progress when it was acknowledged.
    for (const a of acks.filter((x) => !onPrimary.has(x.id))) {
      const rec = [...records].reverse().find((r) => r.t0 <= a.at);
      if (rec) rec.lost++;
      else problems.push(`write ${a.id} acknowledged before the first fault was lost`);
    }
    for (const h of c.db.filter((x) => x !== leader)) {
      const ids = await c.idsOn(h, table);
      if (ids.size !== onPrimary.size || [...onPrimary].some((id) => !ids.has(id))) problems.push(`${h} has ${ids.size} ids in ${table}, the primary ${onPrimary.size}`);
    }
  }
  if (c.splits.length) problems.push(`two writable nodes at ${c.splits.length} sampled instants: ${JSON.stringify(c.splits.slice(0, 3))}`);
  const lost = records.reduce((s, r) => s + r.lost, 0);
  if (sync && lost) problems.push(`synchronous replication lost ${lost} acknowledged writes`);
} catch (err) {
  problems.push(errorMessage(err));
} finally {
  if (problems.length && c) keepLogs(c, resolve(outDir, 'nemesis-logs'));
  await c?.destroy().catch(() => {});
}

const kinds = [...new Set(records.flatMap((r) => r.kinds))].sort();
const rows = kinds.map((k) => {
  const rs = records.filter((r) => r.kinds.includes(k));
  const out = rs.map((r) => r.outage_s);
  return `| ${k} | ${rs.length} | ${Math.min(...out)} / ${median(out)} / ${Math.max(...out)} | ${rs.reduce((s, r) => s + r.lost, 0)} | ${rs.reduce((s, r) => s + r.splits, 0)} |`;
});
const table = ['| fault | count | write outage min / median / max (s) | acknowledged writes lost | split-brain samples |', '|---|---|---|---|---|', ...rows].join('\n');
const minutes = Math.round((Date.now() - started) / 6_000) / 10;
const summary = `nemesis: ${records.length}/${count} faults, seed ${seed}, synchronous_mode ${values.sync}, ${minutes} min (ttl ${LAB_TIMING.ttl} s)`;
writeFileSync(resolve(outDir, 'nemesis-report.json'), `${JSON.stringify({ seed, sync: values.sync, faults: records, problems }, null, 2)}\n`);
writeFileSync(resolve(outDir, 'nemesis-report.md'), `# Nemesis report\n\n${summary}\n\n${table}\n\n${problems.map((p) => `- problem: ${p}`).join('\n')}\n`);
console.log(`\n${summary}\n\n${table}\n`);
for (const p of problems) console.log(`problem: ${p}`);
const ok = problems.length === 0 && records.length === count;
console.log(`${ok ? 1 : 0} passed, ${ok ? 0 : 1} failed`);
process.exit(ok ? 0 : 1);
