import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildClusterReport, type Prober } from '../../../src/api/cluster-view.js';
import { renderCluster } from '../../../src/cli/render/table.js';
import { parseLsn } from '../../../src/util/lsn.js';
import { aMember, aSnapshot } from '../../support/builders.js';

const tags = { priority: 100, location: 'default', nofailover: false, noloadbalance: false, nosync: false, clonefrom: false };
const answering =
  (rows: Record<string, { running: boolean; role: 'primary' | 'standby' | null; lsn: string | null; timeline: number | null } | null>): Prober =>
  async (reg) => {
    const r = rows[reg.name];
    return r
      ? {
          name: reg.name,
          tags,
          streaming: r.role === 'standby' && r.running,
          disk_full: false,
          clone: null,
          removed_at: null,
          postmaster: r.running ? 'running' : 'stopped',
          ...r,
          lsn: r.lsn === null ? null : parseLsn(r.lsn),
        }
      : null;
  };

/** n1 the primary, n2 and n3 streaming standbys, all at the same position. */
const allRunning = answering({
  n1: { running: true, role: 'primary', lsn: '0/3000000', timeline: 1 },
  n2: { running: true, role: 'standby', lsn: '0/3000000', timeline: 1 },
  n3: { running: true, role: 'standby', lsn: '0/3000000', timeline: 1 },
});

describe('cluster show (report and table)', () => {
  it('seed 000: a standby that does not answer is "? unreachable", named in two warnings; no failover implied', async () => {
    const snap = aSnapshot().build();
    const report = await buildClusterReport(
      snap,
      answering({
        n1: { running: true, role: 'primary', lsn: '0/3000100', timeline: 1 },
        n2: null,
        n3: { running: true, role: 'standby', lsn: '0/3000000', timeline: 1 },
      }),
    );
    assert.equal(report.leader, 'n1');
    assert.deepEqual(
      report.members.map((m) => m.status),
      ['* running', '? unreachable', 'running'],
    );
    assert.deepEqual(report.warnings, ['unable to connect to node "n2" (ID: 2)', 'node "n2" (ID: 2) is registered as an active standby but is unreachable']);
    assert.equal(report.members[2]?.lag_bytes, 256);
    const text = renderCluster(report);
    assert.match(text, /^ 2 +\| n2 +\| standby \| \? unreachable \| n1 +\| async \| default +\| 100 +\| \? +\| \? +\| host=10\.0\.0\.2 port=5432/m);
    assert.match(text, /WARNING: following issues were detected\n {2}- unable to connect to node "n2" \(ID: 2\)/);
  });

  it('--verbose shows how each proxy routes to every node (the pooler-marks-a-healthy-node-down story)', async () => {
    const snap = aSnapshot()
      .proxies({ app1: { n1: 'up', n2: 'up', n3: 'up' }, app2: { n1: 'up', n2: 'down', n3: 'detached' } })
      .build();
    const report = await buildClusterReport(snap, allRunning);
    assert.deepEqual(report.members[1]?.proxies, { app1: 'up', app2: 'down' });
    const text = renderCluster(report, { verbose: true });
    assert.match(text, /Proxies \(how each routes to every node now\):\n {2}app1: n1 up, n2 up, n3 up\n {2}app2: n1 up, n2 down, n3 detached/);
    assert.doesNotMatch(renderCluster(report), /Proxies/, 'only with --verbose');
  });

  it('synchronous replication: the Sync column, and a warning when fewer standbys are synchronous than configured', async () => {
    const live = allRunning;
    const sync = await buildClusterReport(aSnapshot().sync(['n2']).build(), live);
    assert.deepEqual(
      sync.members.map((m) => m.sync),
      [null, 'sync', 'async'],
    );
    assert.deepEqual(sync.warnings, []);
    const quorum = await buildClusterReport(aSnapshot().sync(['n2', 'n3'], { mode: 'quorum' }).build(), live);
    assert.deepEqual(
      quorum.members.map((m) => m.sync),
      [null, 'quorum', 'quorum'],
    );
    const snap = aSnapshot().build();
    const below = await buildClusterReport({ ...snap, sync: { revision: 1, value: { leader: 'n1', members: ['n2'], mode: 'on', count: 1, wanted: 2 } } }, live);
    assert.deepEqual(below.warnings, ['synchronous replication runs below the configured count: 1 synchronous standby(s) of 2 wanted']);
    const none = await buildClusterReport({ ...snap, sync: { revision: 1, value: { leader: 'n1', members: [], mode: 'on', count: 0, wanted: 1 } } }, live);
    assert.match(none.warnings.join('\n'), /runs asynchronously: no eligible standby/);
    assert.match(renderCluster(sync), /^ 2 +\| n2 +\| standby \| {3}running +\| n1 +\| sync /m);
  });

  it('an agent that answers with PostgreSQL down is "! failed"; one that is cloning is "stopped"', async () => {
    const snap = aSnapshot()
      .member(aMember('n2', { state: 'crashed' }))
      .member(aMember('n3', { state: 'cloning' }))
      .build();
    const report = await buildClusterReport(
      snap,
      answering({
        n1: { running: true, role: 'primary', lsn: '0/3000000', timeline: 1 },
        n2: { running: false, role: null, lsn: null, timeline: 1 },
        n3: { running: false, role: null, lsn: null, timeline: null },
      }),
    );
    assert.deepEqual(
      report.members.map((m) => m.status),
      ['* running', '! failed', 'stopped'],
    );
    assert.match(report.warnings.join('\n'), /node "n2" \(ID: 2\) is registered as an active standby but PostgreSQL is not running/);
    assert.match(report.warnings.join('\n'), /node "n3" \(ID: 3\) is not running yet: cloning/);
  });

  it('a clone in progress: "cloning 42%" from the agent\'s live report, bytes and rate in --verbose and --json', async () => {
    const clone = { from: 'n1', done_bytes: 42 * 1048576, total_bytes: 100 * 1048576, rate_bytes_s: 21 * 1048576, elapsed_s: 2 };
    const snap = aSnapshot()
      .member(aMember('n3', { state: 'cloning' }))
      .build();
    const live: Prober = async (reg) => {
      const r = await answering({
        n1: { running: true, role: 'primary', lsn: '0/3000000', timeline: 1 },
        n2: { running: true, role: 'standby', lsn: '0/3000000', timeline: 1 },
        n3: { running: false, role: null, lsn: null, timeline: null },
      })(reg);
      return r && reg.name === 'n3' ? { ...r, clone } : r;
    };
    const report = await buildClusterReport(snap, live);
    assert.equal(report.members[2]?.status, 'cloning 42%');
    assert.deepEqual(report.members[2]?.clone, clone);
    assert.match(report.warnings.join('\n'), /node "n3" \(ID: 3\) is not running yet: cloning from n1/);
    const text = renderCluster(report, { verbose: true });
    assert.match(text, /^ 3 +\| n3 +\| standby \| {3}cloning 42% \| n1/m);
    assert.match(text, /Clones in progress:\n {2}n3: from n1, 42 MB of 100 MB in 2 s, 21 MB\/s/);
  });

  it('warns when nobody holds the lock, and when a primary runs without it', async () => {
    const snap = aSnapshot().leader(null).build();
    const report = await buildClusterReport(snap, allRunning);
    assert.match(report.warnings[0] ?? '', /no node holds the leader lock/);
    assert.match(report.warnings.join('\n'), /node "n1" \(ID: 1\) runs as a primary but does not hold the leader lock/);
  });

  it('names the holder of the floating address; warns on two holders, a holder without the lock, or none', async () => {
    const all = answering({
      n1: { running: true, role: 'primary', lsn: '0/3000100', timeline: 1 },
      n2: { running: true, role: 'standby', lsn: '0/3000100', timeline: 1 },
      n3: { running: true, role: 'standby', lsn: '0/3000100', timeline: 1 },
    });
    const vip = (held: boolean) => ({ address: '192.0.2.10', held });
    const withVip = (h1: boolean, h2: boolean) =>
      aSnapshot()
        .member(aMember('n1', { role: 'primary', upstream: null, vip: vip(h1) }))
        .member(aMember('n2', { vip: vip(h2) }))
        .member(aMember('n3', { vip: vip(false) }))
        .build();

    const ok = await buildClusterReport(withVip(true, false), all);
    assert.deepEqual(ok.vip, { address: '192.0.2.10', holders: ['n1'] });
    assert.deepEqual(ok.warnings, []);
    assert.match(renderCluster(ok), /\nFloating IP 192\.0\.2\.10: held by n1$/m);

    const two = await buildClusterReport(withVip(true, true), all);
    assert.deepEqual(two.warnings, [
      'the floating address 192.0.2.10 is held by 2 nodes: n1, n2',
      'the floating address 192.0.2.10 is held by "n2", which does not hold the leader lock',
    ]);

    const none = await buildClusterReport(withVip(false, false), all);
    assert.deepEqual(none.warnings, ['nobody holds the floating address 192.0.2.10']);
    assert.match(renderCluster(none), /Floating IP 192\.0\.2\.10: held by nobody/);

    const without = await buildClusterReport(aSnapshot().build(), all);
    assert.equal(without.vip, null);
    assert.doesNotMatch(renderCluster(without), /Floating IP/);
  });
});
