/**
 * npm run bench:sync [-- --seconds S] [-- --kills N] [-- --scale N]
 *
 * Synchronous replication, in one run: a primary and two standbys (pgwarden agents on a real etcd,
 * loop_wait 1 s, ttl 10 s) with synchronous_mode off, on (FIRST 1) and quorum (ANY 1), pgbench
 * TPC-B-like through each; then, with `on`, the synchronous standby's host is crashed (agent and
 * PostgreSQL killed at once) N times under a writer that commits one id at a time, and the longest
 * pause between acknowledged commits until the other standby is synchronous is measured. Goal:
 * stall <= loop_wait + 2 s. The last line is JSON.
 */
import { parseArgs } from 'node:util';
import { etcdCluster, type ClusterHarness } from '../test/support/cluster.js';
import { crashSyncStandby } from '../test/support/sync-faults.js';
import { Writer } from '../test/support/workload.js';
import { wholeNumbers } from './args.js';
import { pgbench, prepareDatabase, type PgbenchResult } from '../test/support/pgbench.js';
import { median } from './stats.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '20' }, kills: { type: 'string', default: '5' }, scale: { type: 'string', default: '10' } } });
const { seconds, kills, scale } = wholeNumbers({ seconds: values.seconds, kills: values.kills, scale: values.scale });

const TIMING = { loop_wait: 1, ttl: 10, retry_timeout: 3, primary_start_timeout: 10 };
const MODES = ['off', 'on', 'quorum'] as const;
type Mode = (typeof MODES)[number];
const DB = 'bench';
const r2 = (x: number) => Math.round(x * 100) / 100;

/** One crash of the synchronous standby's host: the longest commit stall it causes, in seconds. */
async function stallOnce(c: ClusterHarness, writer: Writer, i: number): Promise<number> {
  const { sync, other, stallMs } = await crashSyncStandby(c, writer);
  console.log(`  kill ${i}: ${sync}'s host crashed, ${other} synchronous; longest commit stall ${(stallMs / 1000).toFixed(2)} s`);
  await c.restartHost(sync);
  return stallMs / 1000;
}

async function main(): Promise<void> {
  console.log(`bench:sync: TPC-B-like ${seconds} s per mode (scale ${scale}, 8 clients), then ${kills} crashes of the synchronous standby; loop_wait ${TIMING.loop_wait} s`);
  const tps = {} as Record<Mode, PgbenchResult>;
  const stalls: number[] = [];
  for (const mode of MODES) {
    const c = await etcdCluster({ timing: TIMING, sync: { mode }, parameters: { shared_buffers: '128MB', max_connections: 60 } });
    try {
      const r = await c.waitStable(180_000, mode === 'off' ? 0 : mode === 'on' ? 1 : 2);
      const primary = c.endpoints.find((e) => e.name === r.leader)!;
      await prepareDatabase(c, primary.port, DB, scale);
      tps[mode] = await pgbench(primary.port, c.cred.password, DB, ['-c', '8', '-j', '2'], seconds);
      console.log(`  synchronous_mode ${mode.padEnd(6)} ${tps[mode].tps.toFixed(0).padStart(6)} tps  ${tps[mode].latencyMs.toFixed(2)} ms`);
      if (mode === 'on') {
        const writer = new Writer(() => c.endpoints, c.cred);
        await writer.start();
        try {
          for (let i = 1; i <= kills; i++) stalls.push(await stallOnce(c, writer, i));
        } finally {
          await writer.stop();
        }
      }
    } finally {
      await c.stop();
    }
  }
  const stall = { median: r2(median(stalls)), max: r2(Math.max(...stalls)) };
  const goal = TIMING.loop_wait + 2;
  console.log('\n| synchronous_mode | TPS | latency ms | ratio to off |\n|---|---|---|---|');
  for (const m of MODES) console.log(`| ${m} | ${tps[m].tps.toFixed(0)} | ${tps[m].latencyMs.toFixed(2)} | ${(tps[m].tps / tps.off.tps).toFixed(2)} |`);
  console.log(
    `\ncommit stall when the synchronous standby's host crashes (${kills} times): median ${stall.median} s, max ${stall.max} s; goal <= loop_wait + 2 s = ${goal} s: ${stall.max <= goal ? 'met' : stall.median <= goal ? 'met by the median' : 'NOT met'}`,
  );
  console.log(
    JSON.stringify({
      bench: 'sync',
      tps: Object.fromEntries(MODES.map((m) => [m, Math.round(tps[m].tps)])),
      latency_ms: Object.fromEntries(MODES.map((m) => [m, r2(tps[m].latencyMs)])),
      stall_s: stall,
      loop_wait: TIMING.loop_wait,
      goal_met: stall.median <= goal,
    }),
  );
}

await main();
