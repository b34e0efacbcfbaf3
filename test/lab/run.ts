/**
 * npm run test:lab [-- --only L1[,L3]]: runs the fault-lab scenarios, each on a fresh lab (hosts
 * in network namespaces, a 3-member etcd, real PostgreSQL and agents), checks the invariants
 * through every fault, and writes lab-report.md and lab-report.json to LAB_REPORT_DIR
 * (default test/lab/out/). Needs root. Never retries a failing scenario.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { errorMessage } from '../../src/util/errors.js';
import { LAB_TIMING, startLabCluster, type LabCluster } from './cluster.js';
import { keepLogs } from './keep-logs.js';
import { preflight, tearDownOnSignal } from './preflight.js';
import { reconcile } from './reconcile.js';
import type { PeerScenario, Scenario, ScenarioContext } from './scenario.js';
import { L1 } from './scenarios/l1-standby-nic-down.js';
import { L2 } from './scenarios/l2-primary-nic-down.js';
import { L3 } from './scenarios/l3-primary-power-loss.js';
import { L4 } from './scenarios/l4-primary-cut-from-store.js';
import { L5 } from './scenarios/l5-etcd-members.js';
import { L6 } from './scenarios/l6-standby-nic-flaps.js';
import { L7 } from './scenarios/l7-latency-loss.js';
import { L8 } from './scenarios/l8-sync-primary-cut.js';
import { L9 } from './scenarios/l9-primary-agent-killed.js';
import { L10 } from './scenarios/l10-primary-agent-frozen.js';
import { L11 } from './scenarios/l11-primary-postgres-frozen.js';
import { L12 } from './scenarios/l12-primary-disk-full.js';
import { KA1, KA2 } from './scenarios/keepalived.js';
import { VIP1, VIP2, VIP3, VIP4, VIP5 } from './scenarios/vip.js';

const ALL: (Scenario | PeerScenario)[] = [L1, L2, L3, L4, L5, L6, L7, L8, L9, L10, L11, L12, VIP1, VIP2, VIP3, VIP4, VIP5, KA1, KA2];
/** Names for several scenarios at once: `--only VIP` runs the floating-address scenarios and keepalived's. */
const GROUPS: Record<string, string[]> = { VIP: ALL.filter((s) => /^(VIP|KA)\d/.test(s.id)).map((s) => s.id) };

export interface ScenarioResult {
  id: string;
  title: string;
  pass: boolean;
  recover_s: number | null;
  lost_acked: number;
  split_brain_samples: number;
  acked: number;
  duration_s: number;
  notes: string[];
  error: string | null;
}

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const wanted = values.only
  ? values.only
      .split(',')
      .map((s) => s.trim().toUpperCase())
      .flatMap((s) => GROUPS[s] ?? [s])
  : ALL.map((s) => s.id);
const unknown = wanted.filter((id) => !ALL.some((s) => s.id === id));
if (unknown.length) {
  console.error(`unknown scenario ${unknown.join(', ')}; known: ${[...ALL.map((s) => s.id), ...Object.keys(GROUPS)].join(', ')}`);
  process.exit(2);
}
preflight();
/** The cluster of the scenario running now, for the teardown on a signal or a failure. */
const live: { cluster: LabCluster | null } = { cluster: null };
tearDownOnSignal(() => live.cluster);

const outDir = resolve(process.env.LAB_REPORT_DIR ?? resolve(import.meta.dirname, '../../../test/lab/out'));
const results: ScenarioResult[] = [];
for (const s of ALL.filter((x) => wanted.includes(x.id))) {
  const started = Date.now();
  const res: ScenarioResult = { id: s.id, title: s.title, pass: false, recover_s: null, lost_acked: 0, split_brain_samples: 0, acked: 0, duration_s: 0, notes: [], error: null };
  console.log(`${s.id}: ${s.title}`);
  const ctx = { recovered: (sec: number) => (res.recover_s = sec), note: (t: string) => res.notes.push(t) };
  try {
    if ('standalone' in s) res.split_brain_samples = (await s.standalone(ctx)).splitBrainSamples;
    else await runOnCluster(s, res, ctx);
    res.pass = true;
  } catch (err) {
    res.error = errorMessage(err);
    res.split_brain_samples = live.cluster?.splits.length ?? res.split_brain_samples;
    if (live.cluster) keepLogs(live.cluster, resolve(outDir, 'lab-logs', s.id));
  } finally {
    await live.cluster?.destroy().catch(() => {});
    live.cluster = null;
  }
  res.duration_s = Math.round((Date.now() - started) / 1000);
  results.push(res);
  console.log(
    `  ${res.pass ? 'pass' : 'FAIL'} in ${res.duration_s} s; recover ${res.recover_s ?? '-'} s; acked ${res.acked}, lost ${res.lost_acked}, split-brain samples ${res.split_brain_samples}`,
  );
  for (const n of res.notes) console.log(`    ${n.replace(/\n/g, '\n    ')}`);
  if (res.error) console.log(`    error: ${res.error}`);
}

/** A scenario on a fresh pgwarden lab cluster, then the reconciliation every such scenario ends with. */
async function runOnCluster(s: Scenario, res: ScenarioResult, ctx: ScenarioContext): Promise<void> {
  const current = (live.cluster = await startLabCluster({
    dbHosts: s.dbHosts,
    timing: { ...LAB_TIMING, ...s.timing },
    ...(s.sync ? { sync: s.sync } : {}),
    ...(s.diskMb ? { diskMb: s.diskMb } : {}),
    ...(s.vip ? { vip: true } : {}),
  }));
  await s.run(current, ctx);
  const rec = await reconcile(current);
  res.lost_acked = rec.lost.length;
  res.split_brain_samples = current.splits.length;
  res.acked = current.acks.length;
  res.notes.push(...rec.notes);
  if (current.splits.length) throw new Error(`two writable nodes at ${current.splits.length} sampled instants: ${JSON.stringify(current.splits.slice(0, 3))}`);
  if (rec.problems.length) throw new Error(rec.problems.join('; '));
}

mkdirSync(outDir, { recursive: true });
writeFileSync(resolve(outDir, 'lab-report.json'), `${JSON.stringify({ scenarios: results }, null, 2)}\n`);
const table = [
  '| id | scenario | pass | recover (s) | acked | lost acked | split-brain samples | duration (s) |',
  '|---|---|---|---|---|---|---|---|',
  ...results.map(
    (r) => `| ${r.id} | ${r.title} | ${r.pass ? 'yes' : '**no**'} | ${r.recover_s ?? '-'} | ${r.acked} | ${r.lost_acked} | ${r.split_brain_samples} | ${r.duration_s} |`,
  ),
];
const details = results.map(
  (r) => `## ${r.id}: ${r.title}\n\n${r.pass ? 'pass' : `FAIL: ${r.error}`}\n\n${r.notes.map((n) => `- ${n.includes('\n') ? `\n\n\`\`\`\n${n}\n\`\`\`\n` : n}`).join('\n')}\n`,
);
writeFileSync(resolve(outDir, 'lab-report.md'), `# Fault lab report\n\n${table.join('\n')}\n\n${details.join('\n')}`);
console.log(`\n${table.join('\n')}\n\nreport: ${outDir}/lab-report.md`);
const failed = results.filter((r) => !r.pass).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
