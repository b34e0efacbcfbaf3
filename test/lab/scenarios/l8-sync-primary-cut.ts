/**
 * L8 (synchronous_mode on): the primary's interface goes down while the writer commits. Commits on
 * the cut-off primary wait for its synchronous standby, so none is acknowledged that the standby
 * lacks; only that standby may be promoted, and no acknowledged id is lost (reconcile checks).
 */
import { waitFor } from '../../../src/util/deadline.js';
import { assertThat, seconds, waitForWrite, type Scenario } from '../scenario.js';

export const L8: Scenario = {
  id: 'L8',
  title: "synchronous mode: the primary's interface goes down while writing",
  dbHosts: 3,
  sync: 'on',
  async run(c, ctx) {
    const r0 = await waitFor(
      'a synchronous standby recorded',
      async () => {
        const r = await c.report();
        return r.members.some((m) => m.sync === 'sync') ? r : false;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const primary = r0.leader!;
    const sync = r0.members.find((m) => m.sync === 'sync')!.name;
    await waitFor('the writer to commit', () => c.acks.length > 20, { timeoutMs: 30_000, intervalMs: 100 });
    const t0 = Date.now();
    c.lab.linkDown(primary);
    const ack = await waitForWrite(c, t0, (c.timing.ttl + 15) * 1000, (a) => a.node !== primary);
    assertThat(ack.node === sync, `${ack.node} was promoted, but only the synchronous standby ${sync} holds every acknowledged commit`);
    ctx.note(`${sync} (the synchronous standby) promoted; writes resumed after ${Math.round((ack.at - t0) / 100) / 10} s`);
    const t1 = Date.now();
    c.lab.linkUp(primary);
    const r = await c.waitConverged(90_000, `${primary} back as a streaming standby`);
    assertThat(r.members.find((m) => m.name === primary)?.role === 'standby', 'the old primary is not a standby');
    ctx.recovered(seconds(t1));
  },
};
