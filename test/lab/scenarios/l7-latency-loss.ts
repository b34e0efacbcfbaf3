/**
 * L7: 200 ms latency and 5 % packet loss between the primary and a standby: no false failover.
 * Loss comes from nftables (numgen random); latency from a delaying TCP relay in the standby's
 * namespace that its walreceiver is redirected through (this kernel has no netem).
 */
import { resolve } from 'node:path';
import { assertThat, seconds, sleep, type Scenario } from '../scenario.js';
import { waitFor } from '../../../src/util/deadline.js';

export const L7: Scenario = {
  id: 'L7',
  title: '200 ms latency and 5 % loss between primary and standby',
  dbHosts: 3,
  async run(c, ctx) {
    const primary = (await c.report()).leader!;
    const standby = c.db.find((h) => h !== primary)!;
    const p = c.addr(primary);
    const relay = c.lab.spawn(standby, process.execPath, [resolve(import.meta.dirname, '../relay.js'), '15432', p, '5432', '100'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let relayed = 0;
    relay.stdout!.on('data', (d: Buffer) => (relayed += d.toString().split('connection').length - 1));
    try {
      // Replication connections (made as the postgres user) go through the relay: 100 ms each way.
      c.lab.nft(
        standby,
        `table inet pgwlab {
  chain nat_out { type nat hook output priority -100; ip daddr ${p} tcp dport 5432 meta skuid postgres redirect to :15432; }
  chain loss_in { type filter hook input priority 0; ip saddr ${p} numgen random mod 100 < 5 drop; }
  chain loss_out { type filter hook output priority 0; ip daddr ${p} numgen random mod 100 < 5 drop; }
}`,
      );
      // Make the walreceiver reconnect through the relay.
      const pid = Number(
        (await c.lab.run(standby, '/usr/bin/psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-Atc', 'SELECT pid FROM pg_stat_wal_receiver'])).stdout.trim(),
      );
      if (pid) process.kill(pid, 'SIGTERM');
      await waitFor('the walreceiver to reconnect through the delaying relay', () => relayed > 0, { timeoutMs: 15_000, intervalMs: 100 });
      const t0 = Date.now();
      while (Date.now() - t0 < 30_000) {
        const r = await c.report();
        assertThat(r.leader === primary, `false failover under latency and loss (leader ${r.leader})`);
        await sleep(2000);
      }
      const r = await waitFor(
        `${standby} streaming through the slow link`,
        async () => {
          const rep = await c.report();
          return rep.members.find((m) => m.name === standby)?.streaming ? rep : false;
        },
        { timeoutMs: 20_000, intervalMs: 500 },
      );
      ctx.note(`under 200 ms RTT (${relayed} replication connection(s) through the relay) and 5 % loss for 30 s: leader ${r.leader} unchanged, ${standby} streaming`);
    } finally {
      c.lab.clearNft(standby);
      relay.kill('SIGKILL');
    }
    const t1 = Date.now();
    await c.waitConverged(60_000);
    ctx.recovered(seconds(t1));
  },
};
