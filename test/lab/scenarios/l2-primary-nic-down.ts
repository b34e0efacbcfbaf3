/**
 * L2: the primary's interface goes down. It stops accepting writes within ttl (fencing: it cannot
 * reach the store), a standby is promoted, and when the interface returns the old primary rejoins
 * as a standby.
 */
import { waitFor } from '../../../src/util/deadline.js';
import { assertThat, seconds, waitForWrite, type Scenario } from '../scenario.js';

export const L2: Scenario = {
  id: 'L2',
  title: "the primary's interface goes down",
  dbHosts: 3,
  async run(c, ctx) {
    const primary = (await c.report()).leader!;
    const t0 = Date.now();
    c.lab.linkDown(primary);
    await waitFor(`${primary} to stop accepting writes (fencing)`, async () => !(await c.writableLocally(primary)), { timeoutMs: c.timing.ttl * 1000, intervalMs: 250 });
    ctx.note(`${primary} fenced itself after ${seconds(t0)} s`);
    const ack = await waitForWrite(c, t0, (c.timing.ttl + 10) * 1000, (a) => a.node !== primary);
    ctx.note(`writes resumed on ${ack.node} after ${Math.round((ack.at - t0) / 100) / 10} s`);
    const t1 = Date.now();
    c.lab.linkUp(primary);
    const r = await c.waitConverged(90_000, `${primary} back as a streaming standby`);
    assertThat(r.leader !== primary, 'the old primary took the leadership back');
    assertThat(r.members.find((m) => m.name === primary)?.role === 'standby', 'the old primary is not a standby');
    ctx.recovered(seconds(t1));
  },
};
