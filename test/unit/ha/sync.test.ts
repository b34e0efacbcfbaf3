/**
 * Synchronous replication, pure: the leader's step that keeps synchronous_standby_names and the
 * recorded set in order (record before GUC when adding, GUC before record when removing), and the
 * rule a failover candidate must pass.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide } from '../../../src/ha/decide.js';
import { syncRefusal } from '../../../src/ha/election.js';
import { parseSyncNames, renderSyncNames, syncStep, type SyncConfig } from '../../../src/ha/sync.js';
import { REPORTING_ACTIONS } from '../../../src/ha/actions.js';
import type { Replica } from '../../../src/ha/view.js';
import type { Action } from '../../../src/ha/actions.js';
import { formatLsn, parseLsn } from '../../../src/util/lsn.js';
import type { SyncState } from '../../../src/store/types.js';
import { aRegistration, aSnapshot, aView, defaultConfig } from '../../support/builders.js';

const streaming = (name: string, flush = '0/3000000', state = 'streaming', replyAgeMs: number | null = 200): Replica => ({ name, state, flushLsn: parseLsn(flush), replyAgeMs });
const on: SyncConfig = { mode: 'on', count: 1, strict: false };

function leaderView(sync: SyncConfig, replicas: Replica[], guc: string, snap = aSnapshot(), lsn = '0/3000000', goneMsAgo?: number) {
  const v = aView().primaryWithLock().config({ sync }).local({ replicas, syncStandbyNames: guc, lsn }).cluster(snap).build();
  return goneMsAgo === undefined ? v : { ...v, local: { ...v.local, noReplicaSince: v.now - goneMsAgo } };
}

const step = (v: ReturnType<typeof leaderView>) => syncStep(v, v.cluster.kind === 'snapshot' ? v.cluster : aSnapshot().build());
const describeRecord = (s: SyncState | null) => {
  if (s === null) return 'deleted';
  const n = s.narrowing;
  return `[${s.members.join(',')}] ${s.mode} ${s.count}${n ? ` narrowing to [${n.to.join(',')}] ${n.count} at ${formatLsn(n.lsn)}` : ''}`;
};
const describeAction = (a: Action | null) =>
  a === null ? null : a.type === 'set_sync_guc' ? `guc ${a.value}` : a.type === 'set_sync_record' ? `record ${describeRecord(a.state)}` : a.type;

describe('synchronous set: the leader step', () => {
  const rows: { name: string; sync: SyncConfig; replicas: Replica[]; guc: string; snap?: ReturnType<typeof aSnapshot>; lsn?: string; goneMsAgo?: number; want: string | null }[] = [
    { name: 'on: a new synchronous standby is recorded first', sync: on, replicas: [streaming('n2', '0/3000100'), streaming('n3')], guc: '', want: 'record [n2] on 1' },
    {
      name: 'on: once recorded, the GUC names it',
      sync: on,
      replicas: [streaming('n2', '0/3000100'), streaming('n3')],
      guc: '',
      snap: aSnapshot().sync(['n2']),
      want: 'guc FIRST 1 ("n2")',
    },
    { name: 'on: steady state, nothing to do', sync: on, replicas: [streaming('n2'), streaming('n3')], guc: 'FIRST 1 ("n2")', snap: aSnapshot().sync(['n2']), want: null },
    {
      name: 'on: the synchronous standby is gone: its replacement is recorded first (both recorded)',
      sync: on,
      replicas: [streaming('n3')],
      guc: 'FIRST 1 ("n2")',
      snap: aSnapshot().sync(['n2']),
      want: 'record [n2,n3] on 1',
    },
    {
      name: 'on: then the GUC switches to the replacement',
      sync: on,
      replicas: [streaming('n3')],
      guc: 'FIRST 1 ("n2")',
      snap: aSnapshot().sync(['n2', 'n3']),
      want: 'guc FIRST 1 ("n3")',
    },
    {
      name: 'on: then the record drops the old one (removed last), the replacement having flushed all the primary wrote',
      sync: on,
      replicas: [streaming('n3')],
      guc: 'FIRST 1 ("n3")',
      snap: aSnapshot().sync(['n2', 'n3']),
      want: 'record [n3] on 1',
    },
    {
      name: 'on: the replacement is behind the primary: the record keeps both and notes how far it must get',
      sync: on,
      replicas: [streaming('n3', '0/3000000')],
      guc: 'FIRST 1 ("n3")',
      lsn: '0/5000000',
      snap: aSnapshot().sync(['n2', 'n3']),
      want: 'record [n2,n3] on 1 narrowing to [n3] 1 at 0/5000000',
    },
    {
      name: 'on: the replacement has not flushed that far yet: the record waits',
      sync: on,
      replicas: [streaming('n3', '0/4FFFFFF')],
      guc: 'FIRST 1 ("n3")',
      lsn: '0/6000000',
      snap: aSnapshot().sync(['n2', 'n3'], { narrowing: { to: ['n3'], count: 1, lsn: '0/5000000' } }),
      want: null,
    },
    {
      name: 'on: the replacement flushed past that point: the old one leaves the record',
      sync: on,
      replicas: [streaming('n3', '0/5000000')],
      guc: 'FIRST 1 ("n3")',
      lsn: '0/6000000',
      snap: aSnapshot().sync(['n2', 'n3'], { narrowing: { to: ['n3'], count: 1, lsn: '0/5000000' } }),
      want: 'record [n3] on 1',
    },
    {
      name: 'on: a noted point for another target does not count: a new one is noted',
      sync: on,
      replicas: [streaming('n3', '0/5000000')],
      guc: 'FIRST 1 ("n3")',
      lsn: '0/6000000',
      snap: aSnapshot().sync(['n2', 'n3'], { narrowing: { to: ['n2'], count: 1, lsn: '0/5000000' } }),
      want: 'record [n2,n3] on 1 narrowing to [n3] 1 at 0/6000000',
    },
    {
      name: 'on: a standby silent for over 3 s (network cut) is replaced',
      sync: on,
      replicas: [streaming('n2', '0/3000000', 'streaming', 3500), streaming('n3')],
      guc: 'FIRST 1 ("n2")',
      snap: aSnapshot().sync(['n2']),
      want: 'record [n2,n3] on 1',
    },
    {
      name: 'quorum: k lowered: the record first',
      sync: { mode: 'quorum', count: 1, strict: false },
      replicas: [streaming('n2'), streaming('n3')],
      guc: 'ANY 2 ("n2", "n3")',
      snap: aSnapshot().sync(['n2', 'n3'], { mode: 'quorum', count: 2 }),
      want: 'record [n2,n3] quorum 1',
    },
    {
      name: 'quorum: k raised: the GUC first',
      sync: { mode: 'quorum', count: 2, strict: false },
      replicas: [streaming('n2'), streaming('n3')],
      guc: 'ANY 1 ("n2", "n3")',
      snap: aSnapshot().sync(['n2', 'n3'], { mode: 'quorum', count: 1 }),
      want: 'guc ANY 2 ("n2", "n3")',
    },
    {
      name: 'quorum: k raised: then the record',
      sync: { mode: 'quorum', count: 2, strict: false },
      replicas: [streaming('n2'), streaming('n3')],
      guc: 'ANY 2 ("n2", "n3")',
      snap: aSnapshot().sync(['n2', 'n3'], { mode: 'quorum', count: 1 }),
      want: 'record [n2,n3] quorum 2',
    },
    {
      name: 'a new leader whose GUC asks FIRST 2 records both with the lower k first',
      sync: on,
      replicas: [streaming('n2'), streaming('n3')],
      guc: 'FIRST 2 ("n2", "n3")',
      snap: aSnapshot().sync(['n9'], { leader: 'n0' }),
      want: 'record [n2,n3] on 1',
    },
    { name: 'on: a standby still catching up is not eligible', sync: on, replicas: [streaming('n2', '0/1000000', 'catchup'), streaming('n3')], guc: '', want: 'record [n3] on 1' },
    {
      name: 'on: nosync-tagged standbys are never synchronous',
      sync: on,
      replicas: [streaming('n2', '0/9000000'), streaming('n3')],
      guc: '',
      snap: aSnapshot().register(aRegistration('n2', 2, { tags: { ...defaultConfig.tags, nosync: true } })),
      want: 'record [n3] on 1',
    },
    {
      name: 'on: no flapping: a synchronous standby stays while eligible even if another is ahead',
      sync: on,
      replicas: [streaming('n2', '0/9000000'), streaming('n3')],
      guc: 'FIRST 1 ("n3")',
      snap: aSnapshot().sync(['n3']),
      want: null,
    },
    {
      name: 'on, k=2: the second standby is recorded first, the recorded k stays 1 while the GUC asks 1',
      sync: { ...on, count: 2 },
      replicas: [streaming('n2'), streaming('n3')],
      guc: 'FIRST 1 ("n2")',
      snap: aSnapshot().sync(['n2']),
      want: 'record [n2,n3] on 1',
    },
    {
      name: 'on, k=2: then the GUC asks both',
      sync: { ...on, count: 2 },
      replicas: [streaming('n2'), streaming('n3')],
      guc: 'FIRST 1 ("n2")',
      snap: aSnapshot().sync(['n2', 'n3']),
      want: 'guc FIRST 2 ("n2", "n3")',
    },
    {
      name: 'on, k=2: then the recorded k',
      sync: { ...on, count: 2 },
      replicas: [streaming('n2'), streaming('n3')],
      guc: 'FIRST 2 ("n2", "n3")',
      snap: aSnapshot().sync(['n2', 'n3']),
      want: 'record [n2,n3] on 2',
    },
    {
      name: 'non-strict, no standby streaming for 2 s (a primary restart): commits keep waiting for them',
      sync: on,
      replicas: [],
      guc: 'FIRST 1 ("n2")',
      snap: aSnapshot().sync(['n2']),
      goneMsAgo: 2000,
      want: null,
    },
    {
      name: 'non-strict, every standby gone for over 5 s: the GUC goes asynchronous first',
      sync: on,
      replicas: [],
      guc: 'FIRST 1 ("n2")',
      snap: aSnapshot().sync(['n2']),
      goneMsAgo: 5001,
      want: 'guc ',
    },
    {
      name: 'non-strict, the only streaming standby is silent (cut off): asynchronous at once',
      sync: on,
      replicas: [streaming('n2', '0/3000000', 'streaming', 4000)],
      guc: 'FIRST 1 ("n2")',
      snap: aSnapshot().sync(['n2']),
      want: 'guc ',
    },
    { name: 'non-strict, every standby gone: then the record says asynchronous', sync: on, replicas: [], guc: '', snap: aSnapshot().sync(['n2']), want: 'record [] on 0' },
    {
      name: 'non-strict, a standby is back: recorded again first',
      sync: on,
      replicas: [streaming('n3')],
      guc: '',
      snap: aSnapshot().sync([], { count: 0 }),
      want: 'record [n3] on 1',
    },
    {
      name: 'strict, every standby gone: keeps waiting on the recorded one',
      sync: { ...on, strict: true },
      replicas: [],
      guc: 'FIRST 1 ("n2")',
      snap: aSnapshot().sync(['n2']),
      want: null,
    },
    {
      name: 'strict, nothing recorded yet and no standby: commits wait for any standby',
      sync: { ...on, strict: true },
      replicas: [],
      guc: '',
      snap: aSnapshot().sync([]),
      want: 'guc FIRST 1 (*)',
    },
    {
      name: 'quorum: every eligible standby, recorded first',
      sync: { mode: 'quorum', count: 1, strict: false },
      replicas: [streaming('n2'), streaming('n3')],
      guc: '',
      want: 'record [n2,n3] quorum 1',
    },
    {
      name: 'quorum: then ANY k over them',
      sync: { mode: 'quorum', count: 1, strict: false },
      replicas: [streaming('n2'), streaming('n3')],
      guc: '',
      snap: aSnapshot().sync(['n2', 'n3'], { mode: 'quorum' }),
      want: 'guc ANY 1 ("n2", "n3")',
    },
    {
      name: 'off: a GUC left set is cleared first, then the record',
      sync: { mode: 'off', count: 1, strict: false },
      replicas: [streaming('n2')],
      guc: 'FIRST 1 ("n2")',
      snap: aSnapshot().sync(['n2']),
      want: 'guc ',
    },
    {
      name: 'off: record deleted last',
      sync: { mode: 'off', count: 1, strict: false },
      replicas: [streaming('n2')],
      guc: '',
      snap: aSnapshot().sync(['n2']),
      want: 'record deleted',
    },
    {
      name: 'a record written by an earlier leader is replaced by ours, starting from what our GUC names',
      sync: on,
      replicas: [streaming('n3')],
      guc: '',
      snap: aSnapshot().sync(['n1', 'n3'], { leader: 'n0' }),
      want: 'record [n3] on 1',
    },
  ];
  for (const r of rows) {
    it(r.name, () => assert.equal(describeAction(step(leaderView(r.sync, r.replicas, r.guc, r.snap, r.lsn, r.goneMsAgo))), r.want));
  }

  it('the leader decision carries the step', () => {
    const d = decide(leaderView(on, [streaming('n2')], '', aSnapshot().sync(['n2'])));
    assert.ok(
      d.actions.some((a) => a.type === 'set_sync_guc'),
      d.message,
    );
  });

  it('names round-trip through the GUC value, quotes included', () => {
    const names = ['n2', 'we"ird'];
    assert.deepEqual(parseSyncNames(renderSyncNames('on', { names, count: 2 })), names);
    assert.equal(renderSyncNames('quorum', { names: [], count: 1 }), '');
  });
});

describe('synchronous set: who may be promoted', () => {
  const pos = (entries: [string, string | null][]) => new Map(entries.map(([n, l]) => [n, l === null ? null : parseLsn(l)] as const));

  it('on, k=1: the recorded standby may; a standby outside the set may not', () => {
    const snap = aSnapshot().leader(null).sync(['n2']).build();
    assert.equal(
      syncRefusal(
        snap.sync!.value,
        'n2',
        pos([
          ['n2', '0/3000000'],
          ['n3', '0/9000000'],
        ]),
      ),
      null,
    );
    assert.match(
      syncRefusal(
        snap.sync!.value,
        'n3',
        pos([
          ['n2', '0/3000000'],
          ['n3', '0/9000000'],
        ]),
      )!,
      /not in the synchronous set/,
    );
  });

  it('quorum ANY 1 of 2: a candidate must see both (one of them holds each commit) and be the most advanced', () => {
    const snap = aSnapshot().leader(null).sync(['n2', 'n3'], { mode: 'quorum' }).build();
    assert.match(syncRefusal(snap.sync!.value, 'n2', pos([['n2', '0/3000000']]))!, /sees 1 of the synchronous set .* needs 2/);
    assert.equal(
      syncRefusal(
        snap.sync!.value,
        'n2',
        pos([
          ['n2', '0/3000100'],
          ['n3', '0/3000000'],
        ]),
      ),
      null,
    );
    assert.match(
      syncRefusal(
        snap.sync!.value,
        'n2',
        pos([
          ['n2', '0/3000000'],
          ['n3', '0/3000100'],
        ]),
      )!,
      /n3 of the synchronous set is further ahead/,
    );
  });

  it('an empty record (asynchronous) leaves the ordinary rules', () => {
    assert.equal(syncRefusal(aSnapshot().leader(null).sync([], { count: 0 }).build().sync!.value, 'n3', pos([['n3', '0/3000000']])), null);
  });

  it('decide: with n2 recorded, n2 takes the lock although n3 is further ahead; n3 waits', () => {
    const snap = aSnapshot().leader(null).sync(['n2']);
    const n2 = decide(aView().self('n2').cluster(snap).local({ lsn: '0/3000000' }).peer('n3', { lsn: '0/3000100' }).build());
    assert.deepEqual(n2.actions.map((a) => a.type).slice(0, 2), ['acquire_leader', 'promote'], n2.message);
    const n3 = decide(aView().self('n3').cluster(snap).local({ lsn: '0/3000100' }).peer('n2', { lsn: '0/3000000' }).build());
    assert.deepEqual(
      n3.actions.filter((a) => !REPORTING_ACTIONS.has(a.type)),
      [],
      n3.message,
    );
    assert.match(n3.message, /not in the synchronous set/);
  });

  it('decide: quorum, the other recorded standby unreachable: nobody is promoted automatically', () => {
    const snap = aSnapshot().leader(null).sync(['n2', 'n3'], { mode: 'quorum' });
    const d = decide(aView().self('n2').cluster(snap).local({ lsn: '0/3000100' }).peer('n3', { reachable: false }).build());
    assert.deepEqual(
      d.actions.filter((a) => !REPORTING_ACTIONS.has(a.type)),
      [],
      d.message,
    );
    assert.match(d.message, /needs 2/);
  });
});
