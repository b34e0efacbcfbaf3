/**
 * L6: a standby's interface flaps (down/up 5 times in 30 s): no failover; the cluster converges.
 */
import { assertThat, seconds, sleep, type Scenario } from '../scenario.js';

export const L6: Scenario = {
  id: 'L6',
  title: "a standby's interface flaps 5 times in 30 s",
  dbHosts: 3,
  async run(c, ctx) {
    const before = await c.report();
    const primary = before.leader!;
    const standby = c.db.find((h) => h !== primary)!;
    for (let i = 0; i < 5; i++) {
      c.lab.linkDown(standby);
      await sleep(3000);
      c.lab.linkUp(standby);
      await sleep(3000);
    }
    const t1 = Date.now();
    const r = await c.waitConverged(60_000);
    assertThat(r.leader === primary, `failover happened (leader ${r.leader})`);
    ctx.recovered(seconds(t1));
  },
};
