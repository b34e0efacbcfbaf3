/**
 * L11: every process of the primary's PostgreSQL frozen (SIGSTOP) for 2 × ttl while its agent and
 * network stay up. The agent's write probe gets no answer; after primary_hang_timeout it kills the
 * instance and only then releases the lock, so the old primary is fenced before a standby is
 * promoted. Writes come back on a standby within ttl + 3 s; the old node rejoins as a standby.
 */
import { assertThat, leaderOf, seconds, sleep, waitForWrite, type Scenario } from '../scenario.js';

export const L11: Scenario = {
  id: 'L11',
  title: "the primary's PostgreSQL frozen for 2 × ttl (agent and network up)",
  dbHosts: 3,
  async run(c, ctx) {
    const primary = await leaderOf(c);
    const t0 = Date.now();
    const pids = c.freezePostgres(primary, true);
    assertThat(pids.length > 3, `${primary}: the instance's processes were not found`);
    try {
      const ack = await waitForWrite(c, t0, (c.timing.ttl + 15) * 1000, (a) => a.node !== primary);
      const back = Math.round((ack.at - t0) / 100) / 10;
      ctx.note(`writes resumed on ${ack.node} after ${back} s (ttl ${c.timing.ttl} s, primary_hang_timeout ${c.timing.primary_hang_timeout} s)`);
      assertThat(back <= c.timing.ttl + 3, `writes came back after ${back} s, more than ttl + 3 s`);
      const events = await c.events();
      const fenced = events.find((e) => e.kind === 'fenced' && e.node === primary && Date.parse(e.at) >= t0);
      const promoted = events.find((e) => e.kind === 'promoted' && e.node === ack.node && Date.parse(e.at) >= t0);
      assertThat(fenced !== undefined && promoted !== undefined, `no fenced/promoted events: ${events.map((e) => `${e.node}:${e.kind}`).join(', ')}`);
      assertThat(Date.parse(fenced!.at) <= Date.parse(promoted!.at), `${primary} was fenced (${fenced!.at}) after ${ack.node} was promoted (${promoted!.at})`);
      ctx.note(`${primary} fenced ${(Date.parse(fenced!.at) - t0) / 1000} s after the freeze; ${ack.node} promoted ${(Date.parse(promoted!.at) - t0) / 1000} s after it`);
      // The fault lasts 2 × ttl, as a long stall would; resuming finds nothing left to resume.
      await sleep(Math.max(0, 2 * c.timing.ttl * 1000 - (Date.now() - t0)));
    } finally {
      c.freezePostgres(primary, false);
    }
    const t1 = Date.now();
    const r = await c.waitConverged(90_000, `${primary} back as a streaming standby`);
    assertThat(r.leader !== primary, 'the old primary took the leadership back');
    assertThat(r.members.find((m) => m.name === primary)?.role === 'standby', 'the old primary is not a standby');
    ctx.recovered(seconds(t1));
  },
};
