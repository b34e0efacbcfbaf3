/**
 * L1, seed 000: primary + standby; the standby's network card goes down for 30 s. No failover;
 * `cluster show` on the primary's host marks the standby unreachable with its warning and exits 1;
 * when the network returns the standby streams again (lag 0) by itself.
 */
import { waitFor } from '../../../src/util/deadline.js';
import { assertThat, leaderOf, seconds, sleep, type Scenario } from '../scenario.js';

export const L1: Scenario = {
  id: 'L1',
  title: 'seed 000: the standby\'s interface goes down for 30 s',
  dbHosts: 2,
  async run(c, ctx) {
    const before = await c.report();
    const primary = before.leader!;
    const standby = c.db.find((h) => h !== primary)!;
    const id = before.members.find((m) => m.name === standby)!.id;
    const timeline = before.members.find((m) => m.name === primary)!.timeline;
    const t0 = Date.now();
    c.lab.linkDown(standby);
    const shown = await waitFor(`cluster show on ${primary} to flag ${standby}`, async () => {
      const r = await c.show(primary);
      return r.code === 1 && new RegExp(`\\| ${standby} +\\| standby +\\| \\? unreachable`).test(r.stdout) && r.stdout.includes(`node "${standby}" (ID: ${id}) is registered as an active standby but is unreachable`) ? r : false;
    }, { timeoutMs: 5000, intervalMs: 250 });
    ctx.note(`cluster show flagged ${standby} after ${seconds(t0)} s:\n${shown.stdout}`);
    while (Date.now() - t0 < 30_000) {
      const r = await c.report();
      assertThat(r.leader === primary, `failover happened while the standby was cut off (leader ${r.leader})`);
      assertThat(r.members.find((m) => m.name === primary)!.timeline === timeline, 'the timeline changed');
      await sleep(2000);
    }
    const t1 = Date.now();
    c.lab.linkUp(standby);
    await waitFor(`${standby} streaming again with lag 0`, async () => {
      const r = await c.report();
      const m = r.members.find((x) => x.name === standby)!;
      return r.leader === primary && m.status === 'running' && m.streaming && m.lag_bytes === 0;
    }, { timeoutMs: 10_000, intervalMs: 250 });
    ctx.recovered(seconds(t1));
    assertThat((await leaderOf(c)) === primary, 'the leader changed');
  },
};
