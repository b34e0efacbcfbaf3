/**
 * What `pgwarden failover --to NAME` shows before the operator confirms: the WAL gap to the
 * furthest known position and why the automatic rules refuse the node.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildClusterReport, type Prober } from '../../../src/api/cluster-view.js';
import { failoverPreview } from '../../../src/api/failover-preview.js';
import { describePreview } from '../../../src/cli/commands/failover.js';
import { aSnapshot } from '../../support/builders.js';

const tags = { priority: 100, location: 'default', nofailover: false, noloadbalance: false, nosync: false };
// The primary n1 is gone; n2 and n3 run as standbys.
const standbys = (n2: string, n3: string): Prober => async (reg) =>
  reg.name === 'n1' ? null : { name: reg.name, tags, running: true, role: 'standby', streaming: false, timeline: 1, lsn: reg.name === 'n2' ? n2 : n3 };

describe('failover preview', () => {
  it('the gap runs to the furthest known position: the last primary position published', async () => {
    const snap = aSnapshot().leader(null).optime('0/3001000').build();
    const p = failoverPreview(snap, await buildClusterReport(snap, standbys('0/3000000', '0/3000800')), 'n3');
    assert.deepEqual({ gap: p.gap_bytes, furthest: p.furthest }, { gap: 0x800, furthest: { name: 'n1', lsn: '0/3001000', source: 'last primary position' } });
    assert.match(p.refused_because!, /n1 is further ahead \(last primary position 0\/3001000\)/);
    const text = describePreview(p).join('\n');
    assert.match(text, /n3 is at 0\/3000800\./);
    assert.match(text, /at least 2048 bytes of WAL beyond n3's position, acknowledged commits among them, would be lost/);
  });

  it('or another member further ahead', async () => {
    const snap = aSnapshot().leader(null).optime('0/3000000').build();
    const p = failoverPreview(snap, await buildClusterReport(snap, standbys('0/3000400', '0/3000000')), 'n3');
    assert.equal(p.gap_bytes, 0x400);
    assert.equal(p.furthest?.name, 'n2');
  });

  it('synchronous mode: a standby outside the recorded set is refused even when no one is known to be ahead', async () => {
    const snap = aSnapshot().leader(null).optime('0/3000000').sync(['n2']).build();
    const p = failoverPreview(snap, await buildClusterReport(snap, standbys('0/3000000', '0/3000000')), 'n3');
    assert.equal(p.gap_bytes, 0);
    assert.match(p.refused_because!, /is not in the synchronous set \(n2\)/);
    assert.deepEqual(p.sync_members, ['n2']);
  });

  it('the furthest standby in an asynchronous cluster passes', async () => {
    const snap = aSnapshot().leader(null).optime('0/3000000').build();
    const p = failoverPreview(snap, await buildClusterReport(snap, standbys('0/3000000', '0/3000000')), 'n2');
    assert.equal(p.refused_because, null);
    assert.match(describePreview(p).join('\n'), /No known position is ahead of n2/);
  });
});
