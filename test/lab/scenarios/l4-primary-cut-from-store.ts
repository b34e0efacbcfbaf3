/**
 * L4: the primary is cut off from etcd only; clients and standbys still reach it. Chosen
 * behaviour: it demotes (it cannot prove it holds the lock), the standbys elect a new leader once
 * the lock expires, and after the heal the old primary follows it. Never two writable nodes.
 */
import { waitFor } from '../../../src/util/deadline.js';
import { assertThat, seconds, waitForWrite, type Scenario } from '../scenario.js';

export const L4: Scenario = {
  id: 'L4',
  title: 'the primary is cut off from etcd only',
  dbHosts: 3,
  async run(c, ctx) {
    const primary = (await c.report()).leader!;
    const etcd = ['etcd1', 'etcd2', 'etcd3'].map((h) => c.addr(h)).join(', ');
    const t0 = Date.now();
    c.lab.nft(
      primary,
      `table inet pgwlab {
  chain out { type filter hook output priority 0; ip daddr { ${etcd} } drop; }
  chain in { type filter hook input priority 0; ip saddr { ${etcd} } drop; }
}`,
    );
    await waitFor(`${primary} to demote`, async () => !(await c.writableLocally(primary)), { timeoutMs: c.timing.ttl * 1000, intervalMs: 250 });
    ctx.note(`${primary} demoted after ${seconds(t0)} s (behaviour: demote, no failsafe mode)`);
    const ack = await waitForWrite(c, t0, (c.timing.ttl + 10) * 1000, (a) => a.node !== primary);
    ctx.note(`writes resumed on ${ack.node} after ${Math.round((ack.at - t0) / 100) / 10} s`);
    const t1 = Date.now();
    c.lab.clearNft(primary);
    const r = await c.waitConverged(90_000, `${primary} following the new leader`);
    assertThat(r.leader !== primary, 'the isolated primary kept or took back the leadership');
    ctx.recovered(seconds(t1));
  },
};
