/**
 * Synchronous replication on real PostgreSQL (3 agents on a real etcd, synchronous_mode: on):
 * the synchronous standby is replaced when its host dies and commits resume; 20 primary kills
 * (postmaster alone, or the whole host) at random moments under a writer lose no acknowledged
 * id; a forced failover to a standby outside the synchronous set shows the loss and needs --force.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import { waitFor } from '../../src/util/deadline.js';
import { etcdCluster, MAIN, type ClusterHarness } from '../support/cluster.js';
import { checkedCluster } from '../support/checked-cluster.js';
import { crashSyncStandby, syncStandbys } from '../support/sync-faults.js';
import { idsOn, type Writer } from '../support/workload.js';

const execP = promisify(execFile);
const KILLS = Number(process.env.PGW_SYNC_KILLS ?? 20);

describe('synchronous replication on real PostgreSQL (etcd, synchronous_mode on)', { timeout: 900_000 }, () => {
  const suite = checkedCluster(() => etcdCluster({ sync: { mode: 'on' } }), 1);
  let c: ClusterHarness;
  let writer: Writer;
  before(() => {
    ({ c, writer } = suite);
  });
  const port = (name: string) => c.endpoints.find((e) => e.name === name)!.port;
  const settled = (ms: number) => c.waitStable(ms, 1);

  it('the primary names its synchronous standby in synchronous_standby_names; the record and cluster show agree', async () => {
    const r = await settled(30_000);
    const [sync] = syncStandbys(r);
    // Exit 1 (warnings) would still print the table; the table is what is checked here.
    const { stdout } = await execP(process.execPath, [MAIN, 'cluster', 'show', '-c', c.clientConfigFile]).catch((e: { stdout: string }) => e);
    assert.match(stdout, new RegExp(`${sync}\\s+\\| standby .*\\| sync `), 'the Sync column marks it');
    const { stdout: guc } = await execP('psql', ['-XAtc', 'SHOW synchronous_standby_names', `host=127.0.0.1 port=${port(r.leader!)} user=${c.cred.user} dbname=postgres`], {
      env: { ...process.env, PGPASSWORD: c.cred.password },
    });
    assert.equal(guc.trim(), `FIRST 1 ("${sync}")`);
  });

  it("the synchronous standby's host dies: the other standby becomes synchronous and commits resume", async () => {
    const { sync, other, stallMs } = await crashSyncStandby(c, writer);
    console.log(`# synchronous standby ${sync} crashed: ${other} synchronous, longest commit stall ${(stallMs / 1000).toFixed(2)} s`);
    await c.restartHost(sync);
    await settled(60_000);
  });

  it(`${KILLS} primary kills (postmaster, or agent + PostgreSQL) at random moments under writes: no acknowledged id lost`, async () => {
    for (let i = 1; i <= KILLS; i++) {
      const before = await settled(90_000);
      const leader = before.leader!;
      const acked = writer.acks.length;
      await waitFor('the writer to commit on the primary', () => writer.acks.length > acked + 2, { timeoutMs: 20_000, intervalMs: 20 });
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 1500)));
      const t0 = performance.now();
      const hostCrash = i % 2 === 0;
      if (hostCrash) {
        await c.crashHost(leader);
        const r = await waitFor(
          'a new leader',
          async () => {
            const rep = await c.report();
            return rep.leader !== null && rep.leader !== leader ? rep : false;
          },
          { timeoutMs: c.ttlMs + 30_000, intervalMs: 100 },
        );
        assert.deepEqual(r.leader, syncStandbys(before)[0], 'only the synchronous standby may be promoted');
        await c.restartHost(leader);
      } else {
        c.killPostmaster(leader);
      }
      const ack = await waitFor('a commit acknowledged after the kill', () => writer.firstAckAfter(t0, (a) => a.connectedAt > t0), { timeoutMs: 60_000, intervalMs: 20 });
      console.log(`# kill ${i}/${KILLS} (${hostCrash ? 'host' : 'postmaster'} of ${leader}): writes on ${ack.node} after ${((ack.at - t0) / 1000).toFixed(2)} s`);
    }
    const r = await settled(90_000);
    await writer.stop();
    const present = await idsOn(port(r.leader!), c.cred);
    const lost = writer.acks.filter((a) => !present.has(a.id));
    console.log(`# ${writer.acks.length} acknowledged ids, ${lost.length} lost`);
    assert.deepEqual(
      lost.map((a) => a.id),
      [],
      'every acknowledged id is on the final primary',
    );
    await writer.start();
  });

  it('failover --to a standby outside the synchronous set: refused without --force; with --force --yes it prints the gap and promotes', async () => {
    const r = await settled(90_000);
    const leader = r.leader!;
    const [sync] = syncStandbys(r);
    const async_ = r.members.find((m) => m.name !== leader && m.name !== sync)!.name;
    // The primary and its synchronous standby gone: nobody may be promoted automatically.
    await Promise.all([c.crashHost(leader), c.crashHost(sync!)]);
    await waitFor('the leader lock to expire with nobody taking it', async () => (await c.report()).leader === null, { timeoutMs: c.ttlMs + 20_000, intervalMs: 200 });
    const cli = (args: string[]) =>
      execP(process.execPath, [MAIN, 'failover', '-c', c.clientConfigFile, '--to', async_, ...args]).then(
        (x) => ({ code: 0, ...x }),
        (e) => e as { code: number; stdout: string; stderr: string },
      );
    const refused = await cli([]);
    assert.equal(refused.code, 1, 'refused without --force');
    assert.match(refused.stderr, /not in the synchronous set/);
    assert.equal((await c.report()).leader, null, 'a refused failover changes nothing');
    const notConfirmed = await cli(['--force']);
    assert.equal(notConfirmed.code, 1, 'without a terminal, --force needs --yes');
    assert.match(notConfirmed.stderr, /not confirmed: nothing was changed/);
    const forced = await cli(['--force', '--yes']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, new RegExp(`${async_} is at \\d+/[0-9A-F]+`));
    assert.match(forced.stdout, /The automatic rules refuse it/);
    assert.match(forced.stdout, new RegExp(`failover done in [\\d.]+ s: ${async_} is the primary`));
    await c.restartHost(leader);
    await c.restartHost(sync!);
    await settled(120_000);
  });
});
