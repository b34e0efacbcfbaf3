/**
 * npm run bench:footprint [-- --minutes 5]
 *
 * The idle footprint of the HA process per node: three pgwarden agents (loop_wait 1, ttl 10) and
 * three Patroni members (loop_wait 1, ttl 20: its shortest valid ttl) side by side in one run, each
 * on a real etcd, on this host. After both clusters are stable they idle for the given minutes;
 * then per node: RSS (and PSS, USS: the node binary's pages are shared by the agent and its guard),
 * and CPU used during the idle minutes as a share of one core. pgwarden's HA
 * process is its agent plus the lease guard that keeps its PostgreSQL fenced; both are counted.
 * The last line is JSON.
 */
import { parseArgs } from 'node:util';
import { wholeNumbers } from './args.js';
import { ensurePatroni, patroniCluster } from './patroni.js';
import { pgwardenTarget } from './pgwarden-target.js';
import { cpuSeconds, memoryMb } from './proxy-peers.js';
import { median } from './stats.js';
import type { BenchTarget } from './target.js';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '5' } } });
const { minutes } = wholeNumbers({ minutes: values.minutes });

interface Footprint {
  readonly node: string;
  readonly rss_mb: number;
  readonly agent_rss_mb: number;
  readonly pss_mb: number;
  readonly uss_mb: number;
  readonly cpu_pct: number;
}

ensurePatroni();
const targets: BenchTarget[] = [];
try {
  // Logging at info, as an operator runs it (Patroni logs at INFO too).
  targets.push(await pgwardenTarget({ loop_wait: 1, ttl: 10, retry_timeout: 3, primary_start_timeout: 10 }, 'info'));
  targets.push(await patroniCluster({ ttl: 20, loop_wait: 1, retry_timeout: 3 }));
  await Promise.all(targets.map((t) => t.waitStable(120_000)));
  const nodes = (t: BenchTarget) => t.endpoints.map((e) => e.name);
  const before = targets.map((t) => nodes(t).map((n) => cpuSeconds(t.haPids(n))));
  console.log(`bench:footprint: both clusters stable; idling ${minutes} min…`);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, minutes * 60_000));
  const seconds = (performance.now() - t0) / 1000;
  const results = targets.map((t, i) =>
    nodes(t).map((n, j): Footprint => {
      const pids = t.haPids(n);
      return {
        node: n,
        rss_mb: memoryMb(pids, 'rss'),
        agent_rss_mb: memoryMb(pids.slice(0, 1), 'rss'),
        pss_mb: memoryMb(pids, 'pss'),
        uss_mb: memoryMb(pids, 'uss'),
        cpu_pct: Math.round(((cpuSeconds(pids) - before[i]![j]!) / seconds) * 1000) / 10,
      };
    }),
  );
  console.log('\n| HA process | node | RSS MB (agent alone) | PSS MB | USS MB | CPU % of a core, idle |\n|---|---|---|---|---|---|');
  targets.forEach((t, i) => results[i]!.forEach((f) => console.log(`| ${t.name} | ${f.node} | ${f.rss_mb} (${f.agent_rss_mb}) | ${f.pss_mb} | ${f.uss_mb} | ${f.cpu_pct} |`)));
  const med = (i: number, k: 'rss_mb' | 'pss_mb' | 'uss_mb' | 'cpu_pct') => median(results[i]!.map((f) => f[k]));
  const ratio = (k: 'pss_mb' | 'uss_mb') => Math.round((med(0, k) / med(1, k)) * 100) / 100;
  const rssRatio = Math.round((med(0, 'rss_mb') / med(1, 'rss_mb')) * 100) / 100;
  const cpuRatio = med(1, 'cpu_pct') > 0 ? Math.round((med(0, 'cpu_pct') / med(1, 'cpu_pct')) * 100) / 100 : null;
  const met = rssRatio <= 1 && cpuRatio !== null && cpuRatio <= 1;
  console.log(
    `\nmedian per node: pgwarden ${med(0, 'rss_mb')} MB, ${med(0, 'cpu_pct')} % CPU; Patroni ${med(1, 'rss_mb')} MB, ${med(1, 'cpu_pct')} % CPU; ratio RSS ${rssRatio}, CPU ${cpuRatio} (goal <= 1 each): ${met ? 'met' : 'NOT met'}; PSS ${med(0, 'pss_mb')} vs ${med(1, 'pss_mb')} MB (ratio ${ratio('pss_mb')}), USS ${med(0, 'uss_mb')} vs ${med(1, 'uss_mb')} MB (ratio ${ratio('uss_mb')})`,
  );
  console.log(
    JSON.stringify({
      bench: 'footprint',
      minutes,
      pgwarden: results[0],
      patroni: results[1],
      rss_ratio: rssRatio,
      pss_ratio: ratio('pss_mb'),
      uss_ratio: ratio('uss_mb'),
      cpu_ratio: cpuRatio,
      goal_met: met,
    }),
  );
} finally {
  for (const t of targets) await t.stop();
}
