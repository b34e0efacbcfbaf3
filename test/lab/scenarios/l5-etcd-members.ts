/**
 * L5: one etcd member killed: nothing changes. Quorum lost (two of three killed): chosen
 * behaviour: the primary demotes (nobody can prove leadership), the cluster is read-only, nothing
 * acknowledged is lost. Quorum back: a leader is elected and writes resume.
 */
import { waitFor } from '../../../src/util/deadline.js';
import { assertThat, seconds, sleep, waitForWrite, type Scenario } from '../scenario.js';

export const L5: Scenario = {
  id: 'L5',
  title: 'one etcd member killed, then quorum lost and restored',
  dbHosts: 3,
  async run(c, ctx) {
    const primary = (await c.report()).leader!;
    c.lab.killAll('etcd1');
    const t0 = Date.now();
    await sleep(15_000);
    const r = await c.report();
    assertThat(r.leader === primary, `one etcd member down changed the leader to ${r.leader}`);
    const recent = c.acks.filter((a) => a.at > Date.now() - 3000);
    assertThat(recent.length > 0 && recent.every((a) => a.node === primary), 'writes did not keep flowing to the primary');
    const gaps = c.acks.filter((a) => a.at > t0).map((a, i, all) => (i ? a.at - (all[i - 1]?.at ?? a.at) : 0));
    ctx.note(`one member down: leader unchanged, longest gap between writes ${Math.max(0, ...gaps)} ms`);

    c.lab.killAll('etcd2');
    const t1 = Date.now();
    // Without quorum etcd cannot expire the lock either (that needs its leader), so nobody else
    // can be promoted: the bound is loop_wait + 2 × retry_timeout plus the demotion itself.
    await waitFor(
      'every node to stop accepting writes (quorum lost)',
      async () => {
        for (const h of c.db) if (await c.writableLocally(h)) return false;
        return true;
      },
      { timeoutMs: (c.timing.loop_wait + 2 * c.timing.retry_timeout + 3) * 1000, intervalMs: 250 },
    );
    ctx.note(`quorum lost: no node accepts writes after ${seconds(t1)} s`);
    await sleep(5000);
    for (const h of c.db) assertThat(!(await c.writableLocally(h)), `${h} accepts writes without a store quorum`);

    const t2 = Date.now();
    c.startEtcd('etcd1');
    c.startEtcd('etcd2');
    await waitForWrite(c, t2, 60_000);
    await c.waitConverged(90_000);
    ctx.recovered(seconds(t2));
  },
};
