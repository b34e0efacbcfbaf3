/**
 * L3: power loss of the primary's host (every process killed, network gone). Failover within
 * ttl + 2 s; when the host comes back (its agent started again) it rejoins as a standby.
 */
import { assertThat, seconds, waitForWrite, type Scenario } from '../scenario.js';

export const L3: Scenario = {
  id: 'L3',
  title: "power loss of the primary's host",
  dbHosts: 3,
  async run(c, ctx) {
    const primary = (await c.report()).leader!;
    const t0 = Date.now();
    c.lab.powerOff(primary);
    const ack = await waitForWrite(c, t0, (c.timing.ttl + 15) * 1000, (a) => a.node !== primary);
    const failover = Math.round((ack.at - t0) / 100) / 10;
    ctx.note(`writes resumed on ${ack.node} after ${failover} s (ttl ${c.timing.ttl} s)`);
    assertThat(failover <= c.timing.ttl + 2, `failover took ${failover} s, more than ttl + 2 s`);
    const t1 = Date.now();
    c.lab.powerOn(primary);
    c.startAgent(primary);
    const r = await c.waitConverged(90_000, `${primary} back as a streaming standby`);
    assertThat(r.members.find((m) => m.name === primary)?.role === 'standby', 'the old primary is not a standby');
    ctx.recovered(seconds(t1));
  },
};
