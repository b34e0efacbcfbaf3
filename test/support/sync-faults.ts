/**
 * The synchronous standby's host crashes under the writer (the integration test and bench:sync):
 * returns once the other standby is the recorded synchronous one and a commit was acknowledged
 * again, with the longest pause between acknowledged commits. The crashed host is left down.
 */
import type { ClusterReport } from '../../src/api/cluster-view.js';
import { waitFor } from '../../src/util/deadline.js';
import type { ClusterHarness } from './cluster.js';
import type { Writer } from './workload.js';

export const syncStandbys = (r: ClusterReport) => r.members.filter((m) => m.sync === 'sync').map((m) => m.name);

export async function crashSyncStandby(c: ClusterHarness, writer: Writer): Promise<{ sync: string; other: string; stallMs: number }> {
  const r = await c.waitStable(60_000, 1);
  const sync = syncStandbys(r)[0];
  const other = r.members.find((m) => m.name !== r.leader && m.name !== sync)?.name;
  if (!sync || !other) throw new Error(`need a synchronous standby and another one: ${JSON.stringify(r.members.map((m) => [m.name, m.sync]))}`);
  const acked = writer.acks.length;
  await waitFor('the writer to commit', () => writer.acks.length > acked + 10, { timeoutMs: 20_000, intervalMs: 20 });
  const t0 = performance.now();
  await c.crashHost(sync);
  await waitFor(`${other} recorded as the synchronous standby`, async () => syncStandbys(await c.report()).join() === other, { timeoutMs: 20_000, intervalMs: 100 });
  const recorded = performance.now();
  const ack = await waitFor('a commit acknowledged after the replacement', () => writer.firstAckAfter(recorded), { timeoutMs: 10_000, intervalMs: 10 });
  return { sync, other, stallMs: writer.longestGap(t0, ack.at) };
}
