/**
 * What `pgwarden failover --to NAME` shows before the operator confirms: the WAL gap to the
 * furthest known position and why the automatic rules refuse the node. The rules are the
 * election's own, so the preview and an automatic failover cannot disagree.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failoverPreview } from '../../../src/api/failover-preview.js';
import { describePreview } from '../../../src/cli/commands/failover.js';
import type { NodeReport } from '../../../src/client/node-report.js';
import { parseLsn } from '../../../src/util/lsn.js';
import { aSnapshot } from '../../support/builders.js';

const tags = { priority: 100, location: 'default', nofailover: false, noloadbalance: false, nosync: false, clonefrom: false };
const MB = 1_048_576n;
// The primary n1 is gone; n2 and n3 run as standbys.
const standby = (name: string, lsn: string): NodeReport => ({
  name,
  tags,
  running: true,
  postmaster: 'running',
  role: 'standby',
  streaming: false,
  timeline: 1,
  disk_full: false,
  clone: null,
  removed_at: null,
  lsn: parseLsn(lsn),
});
const standbys = (n2: string, n3: string) =>
  new Map<string, NodeReport | null>([
    ['n1', null],
    ['n2', standby('n2', n2)],
    ['n3', standby('n3', n3)],
  ]);

describe('failover preview', () => {
  it('the gap runs to the furthest known position: the last primary position published', () => {
    const snap = aSnapshot().leader(null).optime('0/3001000').build();
    const p = failoverPreview(snap, standbys('0/3000000', '0/3000800'), 'n3', 1000n);
    assert.deepEqual({ gap: p.gap_bytes, furthest: p.furthest }, { gap: 0x800, furthest: { name: 'n1', lsn: '0/3001000', source: 'last primary position' } });
    assert.match(p.refused_because!, /lags 2048 bytes behind the last primary position \(maximum_lag_on_failover 1000\)/);
    const text = describePreview(p).join('\n');
    assert.match(text, /n3 is at 0\/3000800\./);
    assert.match(text, /at least 2048 bytes of WAL beyond n3's position, acknowledged commits among them, would be lost/);
  });

  it('a gap within maximum_lag_on_failover passes, as it does in an automatic failover (still shown)', () => {
    const snap = aSnapshot().leader(null).optime('0/3001000').build();
    const p = failoverPreview(snap, standbys('0/3000000', '0/3000800'), 'n3', MB);
    assert.equal(p.gap_bytes, 0x800);
    assert.equal(p.refused_because, null);
  });

  it('another member further ahead is the better candidate', () => {
    const snap = aSnapshot().leader(null).optime('0/3000000').build();
    const p = failoverPreview(snap, standbys('0/3000400', '0/3000000'), 'n3', MB);
    assert.equal(p.gap_bytes, 0x400);
    assert.equal(p.furthest?.name, 'n2');
    assert.match(p.refused_because!, /n2 is a better candidate \(higher WAL position\)/);
  });

  it('synchronous mode: a standby outside the recorded set is refused even when no one is known to be ahead', () => {
    const snap = aSnapshot().leader(null).optime('0/3000000').sync(['n2']).build();
    const p = failoverPreview(snap, standbys('0/3000000', '0/3000000'), 'n3', MB);
    assert.equal(p.gap_bytes, 0);
    assert.match(p.refused_because!, /is not in the synchronous set \(n2\)/);
    assert.deepEqual(p.sync_members, ['n2']);
  });

  it("a node tagged nofailover is refused with the election's reason", () => {
    const snap = aSnapshot().leader(null).optime('0/3000000').build();
    const live = standbys('0/3000000', '0/3000000');
    const n2 = live.get('n2')!;
    live.set('n2', { ...n2, tags: { ...tags, nofailover: true } });
    const registry = new Map(snap.registry);
    registry.set('n2', { ...registry.get('n2')!, tags: { ...tags, nofailover: true } });
    assert.equal(failoverPreview({ ...snap, registry }, live, 'n2', MB).refused_because, 'is tagged nofailover');
  });

  it('the furthest standby in an asynchronous cluster passes', () => {
    const snap = aSnapshot().leader(null).optime('0/3000000').build();
    const p = failoverPreview(snap, standbys('0/3000000', '0/3000000'), 'n2', MB);
    assert.equal(p.refused_because, null);
    assert.match(describePreview(p).join('\n'), /No known position is ahead of n2/);
  });
});
