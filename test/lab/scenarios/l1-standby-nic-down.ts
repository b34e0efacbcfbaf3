/**
 * L1, seed 000: primary + standby; the standby's network card goes down for 30 s. No failover;
 * `cluster show` on the primary's host marks the standby unreachable with its warning and exits 1;
 * when the network returns the standby streams again (lag 0) by itself. Then its PostgreSQL is
 * killed (restarted by itself) and its agent killed and restarted: still no failover.
 */
import { waitFor } from '../../../src/util/deadline.js';
import { parseLsn } from '../../../src/util/lsn.js';
import { assertThat, leaderOf, seconds, sleep, type Scenario } from '../scenario.js';

export const L1: Scenario = {
  id: 'L1',
  title: "seed 000: the standby's interface goes down for 30 s",
  dbHosts: 2,
  async run(c, ctx) {
    const before = await c.report();
    const primary = before.leader!;
    const standby = c.db.find((h) => h !== primary)!;
    const id = before.members.find((m) => m.name === standby)!.id;
    const timeline = before.members.find((m) => m.name === primary)!.timeline;
    const t0 = Date.now();
    c.lab.linkDown(standby);
    const shown = await waitFor(
      `cluster show on ${primary} to flag ${standby}`,
      async () => {
        const r = await c.show(primary);
        return r.code === 1 &&
          new RegExp(`\\| ${standby} +\\| standby +\\| \\? unreachable`).test(r.stdout) &&
          r.stdout.includes(`node "${standby}" (ID: ${id}) is registered as an active standby but is unreachable`)
          ? r
          : false;
      },
      { timeoutMs: 5000, intervalMs: 250 },
    );
    ctx.note(`cluster show flagged ${standby} after ${seconds(t0)} s:\n${shown.stdout}`);
    while (Date.now() - t0 < 30_000) {
      const r = await c.report();
      assertThat(r.leader === primary, `failover happened while the standby was cut off (leader ${r.leader})`);
      assertThat(r.members.find((m) => m.name === primary)!.timeline === timeline, 'the timeline changed');
      await sleep(2000);
    }
    // "Lag 0" while the checker keeps writing: the standby has received everything the primary
    // had written when the network came back (the 30 s backlog), and streams on.
    const backlogEnd = parseLsn((await c.report()).members.find((m) => m.name === primary)!.lsn!);
    const t1 = Date.now();
    c.lab.linkUp(standby);
    const caughtUp = await waitFor(
      `${standby} streaming again, caught up with the primary`,
      async () => {
        const r = await c.report();
        const m = r.members.find((x) => x.name === standby)!;
        return r.leader === primary && m.status === 'running' && m.streaming && m.lsn !== null && parseLsn(m.lsn) >= backlogEnd ? m : false;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    ctx.recovered(seconds(t1));
    ctx.note(`${standby} streaming and caught up ${seconds(t1)} s after its link returned (lag now ${caughtUp.lag_bytes} bytes behind a primary still taking writes)`);

    // Seed 000, note 2: a crashed standby PostgreSQL is restarted by itself; an agent crash and
    // restart on the standby disturbs nothing.
    const killed = c.killPostgres(standby);
    await waitFor(
      `${standby}'s PostgreSQL restarted`,
      () => {
        const pid = c.postmasterPid(standby);
        return pid !== null && pid !== killed;
      },
      { timeoutMs: 15_000 },
    );
    await c.waitConverged(30_000, `${standby} streaming again after its crash`);
    c.killAgent(standby);
    c.startAgent(standby);
    await c.waitConverged(30_000, `${standby}'s new agent running`);
    assertThat((await leaderOf(c)) === primary, 'the leader changed');
  },
};
