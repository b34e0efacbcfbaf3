import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REPORTING_ACTIONS, type Decision } from '../../../src/ha/actions.js';
import { decide } from '../../../src/ha/decide.js';
import { REWIND_AFTER_MS } from '../../../src/ha/decide-led.js';
import { aMember, aRegistration, aSnapshot, aView, defaultConfig, NOW, WALL, type ViewBuilder } from '../../support/builders.js';

interface Row {
  readonly name: string;
  readonly view: ViewBuilder;
  readonly actions: readonly string[];
  readonly message: RegExp;
}

const rows: Row[] = [
  // --- leaderless: the election ---
  {
    name: 'no leader and I am the best candidate: acquires the lock, then promotes',
    view: aView().cluster(aSnapshot().leader(null)).local({ lsn: '0/3000100' }).peer('n3', { lsn: '0/3000000' }).peer('n1', { reachable: false }),
    actions: ['acquire_leader', 'promote'],
    message: /promoting after acquiring the leader lock/,
  },
  {
    name: 'no leader and a better candidate exists (higher LSN): waits',
    view: aView().cluster(aSnapshot().leader(null)).local({ lsn: '0/3000000' }).peer('n3', { lsn: '0/3000100' }),
    actions: [],
    message: /n3 is a better candidate \(higher WAL position\)/,
  },
  {
    name: 'no leader, equal positions: the higher priority wins',
    view: aView()
      .cluster(aSnapshot().leader(null))
      .peer('n3', { tags: { priority: 200, location: 'x', nofailover: false, noloadbalance: false, nosync: false, clonefrom: false } }),
    actions: [],
    message: /n3 is a better candidate \(higher priority\)/,
  },
  {
    name: 'no leader, equal positions and priority: the name that sorts first wins',
    view: aView().self('n3').cluster(aSnapshot().leader(null)).peer('n2'),
    actions: [],
    message: /n2 is a better candidate/,
  },
  {
    name: 'no leader and I am tagged nofailover: never takes the lock',
    view: aView().cluster(aSnapshot().leader(null)).tags({ nofailover: true }).local({ lsn: '0/4000000' }),
    actions: [],
    message: /may not take it: is tagged nofailover/,
  },
  {
    name: 'no leader and my lag is over maximum_lag_on_failover: never takes the lock',
    view: aView().cluster(aSnapshot().leader(null).optime('0/5000000')).local({ lsn: '0/3000000' }),
    actions: [],
    message: /lags 33554432 bytes behind .*maximum_lag_on_failover/,
  },
  {
    name: 'no leader, a better peer is unreachable: it does not count, I take the lock',
    view: aView().cluster(aSnapshot().leader(null)).peer('n3', { reachable: false, lsn: '0/9000000' }),
    actions: ['acquire_leader', 'promote'],
    message: /best candidate/,
  },
  {
    name: 'no leader but a peer still runs as primary: it wins the race, I wait',
    view: aView().cluster(aSnapshot().leader(null)).local({ lsn: '0/3000100' }).peer('n1', { role: 'primary', lsn: '0/3000000' }),
    actions: [],
    message: /n1 is a better candidate \(it runs as primary\)/,
  },
  {
    name: 'no leader and I am a running primary: takes the lock back without promoting',
    view: aView().primaryWithLock().cluster(aSnapshot().leader(null)).peer('n2'),
    actions: ['acquire_leader'],
    message: /took the leader lock back/,
  },
  // --- led by another node ---
  {
    name: 'standby whose upstream is gone while the lock is held: keeps following, no promotion',
    view: aView().local({ streaming: false, notStreamingSince: NOW - 60_000 }),
    actions: ['sync_slots'],
    message: /following n1, not streaming yet/,
  },
  {
    name: 'standby streaming from the leader: no action, says the lag',
    view: aView().cluster(aSnapshot().member(aMember('n1', { role: 'primary', lsn: '0/3000100', upstream: null }))),
    actions: ['sync_slots'],
    message: /streaming from n1 \(lag 256 bytes\)/,
  },
  {
    name: 'standby pointed at an old leader: follows the new one',
    view: aView().cluster(
      aSnapshot()
        .leader('n3')
        .member(aMember('n3', { role: 'primary' })),
    ),
    actions: ['follow'],
    message: /following n3, the new leader/,
  },
  {
    name: 'standby not streaming from a leader on a newer timeline for a while: rewinds',
    view: aView()
      .cluster(aSnapshot().member(aMember('n1', { role: 'primary', timeline: 2 })))
      .local({ streaming: false, timeline: 1, notStreamingSince: NOW - REWIND_AFTER_MS }),
    actions: ['rewind'],
    message: /rewinding: not streaming from n1 .* timeline 2 is ahead of mine \(1\)/,
  },
  {
    name: 'standby not streaming because its disk is full: no rewind loop (restarts free no room)',
    view: aView()
      .cluster(aSnapshot().member(aMember('n1', { role: 'primary', timeline: 2 })))
      .local({ streaming: false, timeline: 1, notStreamingSince: NOW - REWIND_AFTER_MS, diskFullSince: NOW - 1000 }),
    actions: [],
    message: /not streaming: my data directory's filesystem is full/,
  },
  {
    name: 'running as primary while another node holds the lock: demotes at once',
    view: aView().cluster(aSnapshot().leader('n3')).local({ role: 'primary' }),
    actions: ['demote'],
    message: /n3 holds the leader lock, so I must not accept writes/,
  },
  // --- the leader itself ---
  {
    name: 'the leader with a valid lock: refreshes it and keeps slots and optime current',
    view: aView().primaryWithLock(),
    actions: ['refresh_leader', 'sync_slots', 'publish_optime'],
    message: /no action: I am n1, the leader with the lock/,
  },
  {
    name: 'primary lost its lock (refresh failed): demotes',
    view: aView()
      .primaryWithLock()
      .lease({ mine: false, validUntil: NOW + 5000, lastAttemptFailed: true }),
    actions: ['demote'],
    message: /could not refresh the leader lock/,
  },
  {
    name: 'primary whose lease proof ran out before a refresh: demotes',
    view: aView().primaryWithLock(-1),
    actions: ['demote'],
    message: /may have expired/,
  },
  {
    name: 'holding the lock while running as a standby: promotes after refreshing',
    view: aView()
      .self('n1')
      .lease({ mine: true, validUntil: NOW + 5000, lastAttemptFailed: false }),
    actions: ['refresh_leader', 'promote'],
    message: /promoting: I hold the leader lock but run as a standby/,
  },
  // --- the store is gone ---
  {
    name: 'store unreachable on the primary: demotes (fencing)',
    view: aView().primaryWithLock().storeUnavailable(),
    actions: ['demote'],
    message: /store is unreachable, so I cannot prove I hold the leader lock/,
  },
  {
    name: 'store unreachable on a standby: carries on replicating',
    view: aView().storeUnavailable(),
    actions: [],
    message: /no action: the store is unreachable/,
  },
  // --- crashes ---
  {
    name: 'local PostgreSQL crashed on a standby: restarts it as a standby of the leader',
    view: aView().local({ postmaster: 'stopped', downSince: NOW - 500 }),
    actions: ['start'],
    message: /starting as a standby of n1/,
  },
  {
    name: 'local PostgreSQL crashed on the primary: restarts it in place, keeping the lock',
    view: aView()
      .primaryWithLock()
      .local({ postmaster: 'stopped', downSince: NOW - 500 }),
    actions: ['refresh_leader', 'start'],
    message: /restarting PostgreSQL as primary/,
  },
  {
    name: 'crashed primary not back within primary_start_timeout: releases the lock',
    view: aView()
      .primaryWithLock()
      .local({ postmaster: 'starting', downSince: NOW - 10_000 }),
    actions: ['demote', 'release_leader'],
    message: /did not accept writes within 10 s/,
  },
  {
    name: 'a primary that answered, then stops committing the write probe, is hung after primary_hang_timeout: killed, then the lock released',
    view: aView()
      .primaryWithLock()
      .local({ postmaster: 'starting', hungSince: NOW - 5000 }),
    actions: ['fence', 'release_leader'],
    message: /fencing: PostgreSQL has not committed my write probe for 5 s \(primary_hang_timeout 5 s\)/,
  },
  {
    name: 'a primary whose disk has been full for primary_hang_timeout, with a streaming standby that has room: killed, then the lock released',
    view: aView()
      .primaryWithLock()
      .local({ diskFullSince: NOW - 5000 }),
    actions: ['fence', 'release_leader'],
    message: /fencing: the filesystem of my data directory has been full for 5 s .* and n2, n3 can take writes/,
  },
  {
    name: 'a primary whose disk is full keeps the lock when every standby is full too (nowhere better to write)',
    view: aView()
      .primaryWithLock()
      .cluster(
        aSnapshot()
          .leader('n1')
          .member(aMember('n1', { role: 'primary', upstream: null, streaming: false }))
          .member(aMember('n2', { disk_full: true }))
          .member(aMember('n3', { disk_full: true })),
      )
      .local({ diskFullSince: NOW - 60_000 }),
    actions: ['refresh_leader', 'sync_slots', 'publish_optime'],
    message: /no action: I am n1, the leader with the lock/,
  },
  {
    name: 'a primary whose disk is full for less than primary_hang_timeout keeps the lock',
    view: aView()
      .primaryWithLock()
      .local({ diskFullSince: NOW - 4000 }),
    actions: ['refresh_leader', 'sync_slots', 'publish_optime'],
    message: /no action: I am n1, the leader with the lock/,
  },
  {
    name: 'a primary not answering for less than primary_hang_timeout keeps the lock and waits',
    view: aView()
      .primaryWithLock()
      .local({ postmaster: 'starting', hungSince: NOW - 4000 }),
    actions: ['refresh_leader'],
    message: /waiting for PostgreSQL to accept writes; keeping the leader lock/,
  },
  {
    name: 'a hung standby is no threat to anyone: it waits',
    view: aView().local({ postmaster: 'starting', hungSince: NOW - 60_000 }),
    actions: [],
    message: /waiting for PostgreSQL to accept connections/,
  },
  {
    name: 'primary_start_timeout 0: a crashed primary releases the lock at once',
    view: aView()
      .primaryWithLock()
      .config({ primaryStartTimeoutMs: 0 })
      .local({ postmaster: 'stopped', downSince: NOW - 100 }),
    actions: ['release_leader'],
    message: /primary_start_timeout is 0/,
  },
  {
    name: 'an old primary coming back while another node leads: rewinds before rejoining',
    view: aView().oldPrimaryBack(),
    actions: ['rewind'],
    message: /rejoining as a standby of n2: rewinding first/,
  },
  {
    name: 'the last leader starting fresh with nobody holding the lock: takes it and starts as primary',
    view: aView().self('n1').cluster(aSnapshot().leader(null)).local({ postmaster: 'stopped', role: 'primary', wasPrimary: true }),
    actions: ['acquire_leader', 'start'],
    message: /I was the last leader/,
  },
  {
    name: 'a primary that crashed and gave up its lock does not take it back (no preemption)',
    view: aView()
      .self('n1')
      .cluster(aSnapshot().leader(null))
      .local({ postmaster: 'stopped', role: 'primary', wasPrimary: true, downSince: NOW - 20_000 }),
    actions: [],
    message: /waiting for a new leader/,
  },
  // --- removed by an operator ---
  {
    name: 'a removed node that runs: stops its PostgreSQL, neither registers nor publishes',
    view: aView().cluster(aSnapshot().removed('n2')),
    actions: ['demote'],
    message: /stopping PostgreSQL: removed from the cluster by an operator at .*; not rejoining \(pgwarden node readmit n2 lets it back\)/,
  },
  {
    name: 'a removed node that is stopped: stays out',
    view: aView().cluster(aSnapshot().removed('n2')).local({ postmaster: 'stopped' }),
    actions: [],
    message: /^removed from the cluster by an operator/,
  },
  // --- bootstrap and clone ---
  {
    name: 'empty data directory in an uninitialized cluster: races to bootstrap',
    view: aView().cluster(aSnapshot().leader(null).uninitialized()).local({ dataDir: 'empty', postmaster: 'stopped' }),
    actions: ['acquire_leader', 'bootstrap'],
    message: /bootstrapping a new cluster/,
  },
  {
    name: 'empty data directory with a running leader: clones from it',
    view: aView().local({ dataDir: 'empty', postmaster: 'stopped' }),
    actions: ['clone'],
    message: /cloning from leader n1/,
  },
  {
    name: 'empty data directory and a streaming standby tagged clonefrom: copies from it, sparing the primary',
    view: aView()
      .local({ dataDir: 'empty', postmaster: 'stopped' })
      .cluster(aSnapshot().register(aRegistration('n3', 3, { tags: { ...defaultConfig.tags, clonefrom: true } }))),
    actions: ['clone'],
    message: /cloning from n3 \(tagged clonefrom\), then following leader n1/,
  },
  {
    name: 'a standby tagged clonefrom that does not stream: the leader is the source',
    view: aView()
      .local({ dataDir: 'empty', postmaster: 'stopped' })
      .cluster(
        aSnapshot()
          .member(aMember('n3', { streaming: false }))
          .register(aRegistration('n3', 3, { tags: { ...defaultConfig.tags, clonefrom: true } })),
      ),
    actions: ['clone'],
    message: /cloning from leader n1/,
  },
  {
    name: 'a long action in progress on the leader: only keeps the lock',
    view: aView().primaryWithLock().inFlight('bootstrap'),
    actions: ['refresh_leader'],
    message: /bootstrap in progress; keeping the leader lock/,
  },
  // --- switchover ---
  {
    name: 'switchover accepted by the leader: first announces the drain (proxies stop sending new work)',
    view: aView()
      .primaryWithLock()
      .cluster(aSnapshot().switchover('n1', 'n2', WALL - 1000, { timeoutS: 10 })),
    actions: ['refresh_leader', 'start_drain'],
    message: /switching over to n2: draining; open transactions get up to 10 s/,
  },
  {
    name: 'switchover draining with open transactions and time left: waits, keeps the lock',
    view: aView()
      .primaryWithLock()
      .local({ openTransactions: 2 })
      .cluster(aSnapshot().switchover('n1', 'n2', WALL - 3000, { timeoutS: 10, since: WALL - 2000 })),
    actions: ['refresh_leader'],
    message: /waiting for 2 open transaction\(s\) to finish \(8 s left\)/,
  },
  {
    name: 'switchover drained (no open transaction): stops cleanly, then releases',
    view: aView()
      .primaryWithLock()
      .cluster(aSnapshot().switchover('n1', 'n2', WALL - 3000, { timeoutS: 10, since: WALL - 2000 })),
    actions: ['refresh_leader', 'demote', 'release_leader'],
    message: /switching over to n2: drained; stopping cleanly/,
  },
  {
    name: 'switchover drain timeout passed with a transaction still open: stops anyway',
    view: aView()
      .primaryWithLock()
      .local({ openTransactions: 1 })
      .cluster(aSnapshot().switchover('n1', 'n2', WALL - 12_000, { timeoutS: 10, since: WALL - 11_000 })),
    actions: ['refresh_leader', 'demote', 'release_leader'],
    message: /drain timeout passed, 1 open transaction\(s\) are cut/,
  },
  {
    name: 'a switchover draining longer than 30 s (long drain timeout) still binds',
    view: aView()
      .primaryWithLock()
      .local({ openTransactions: 1 })
      .cluster(aSnapshot().switchover('n1', 'n2', WALL - 45_000, { timeoutS: 60, since: WALL - 44_000 })),
    actions: ['refresh_leader'],
    message: /waiting for 1 open transaction/,
  },
  {
    name: 'switchover to a standby that is not streaming: refused, request cleared, cluster unchanged',
    view: aView()
      .primaryWithLock()
      .cluster(
        aSnapshot()
          .switchover('n1', 'n3')
          .member(aMember('n3', { streaming: false })),
      ),
    actions: ['refresh_leader', 'clear_failover'],
    message: /switchover refused: n3 is not a healthy streaming standby/,
  },
  {
    name: 'switchover target that holds the final checkpoint: takes the lock and promotes',
    view: aView().cluster(aSnapshot().leader(null).switchover('n1', 'n2').optime('0/3000000')).local({ lsn: '0/3000100' }).peer('n3', { lsn: '0/3000100' }),
    actions: ['acquire_leader', 'promote', 'clear_failover'],
    message: /promoting after acquiring the leader lock/,
  },
  {
    name: 'switchover target missing the final checkpoint: waits (no lost commit)',
    view: aView().cluster(aSnapshot().leader(null).switchover('n1', 'n2').optime('0/3000100')).local({ lsn: '0/3000000' }),
    actions: [],
    message: /lags 256 bytes/,
  },
  {
    name: 'another standby during a switchover to n2: waits for n2',
    view: aView().self('n3').cluster(aSnapshot().leader(null).switchover('n1', 'n2')).local({ lsn: '0/9000000' }),
    actions: [],
    message: /waiting for n2 to take over/,
  },
  {
    name: 'a stale switchover request no longer binds the election',
    view: aView()
      .self('n3')
      .cluster(
        aSnapshot()
          .leader(null)
          .switchover('n1', 'n2', WALL - 60_000),
      )
      .local({ lsn: '0/3000100' })
      .peer('n2', { lsn: '0/3000000' }),
    actions: ['acquire_leader', 'promote', 'clear_failover'],
    message: /best candidate/,
  },
  // --- paused: nothing automatic, operator requests still run ---
  {
    name: 'no leader: no election (no failover while paused)',
    view: aView().cluster(aSnapshot().leader(null).paused()).local({ lsn: '0/3000100' }).peer('n3', { lsn: '0/3000000' }),
    actions: [],
    message: /^paused, so not acting: promoting after acquiring the leader lock.*\(pgwarden resume ends the pause\)$/,
  },
  {
    name: 'the primary crashed: not restarted; the leader keeps its lock',
    view: aView()
      .primaryWithLock()
      .cluster(aSnapshot().paused())
      .local({ postmaster: 'stopped', downSince: NOW - 500 }),
    actions: ['refresh_leader'],
    message: /^paused, so not acting: restarting PostgreSQL as primary/,
  },
  {
    name: 'primary_start_timeout passed: the lock is not given up either',
    view: aView()
      .primaryWithLock()
      .cluster(aSnapshot().paused())
      .config({ primaryStartTimeoutMs: 0 })
      .local({ postmaster: 'stopped', downSince: NOW - 100 }),
    actions: ['refresh_leader'],
    message: /^paused, so not acting: releasing the leader lock/,
  },
  {
    name: 'a crashed standby is not restarted',
    view: aView()
      .cluster(aSnapshot().paused())
      .local({ postmaster: 'stopped', downSince: NOW - 500 }),
    actions: [],
    message: /^paused, so not acting: starting as a standby of n1/,
  },
  {
    name: 'a hung primary is not fenced',
    view: aView()
      .primaryWithLock()
      .cluster(aSnapshot().paused())
      .local({ postmaster: 'starting', pid: 42, unresponsive: true, hungSince: NOW - 6000 }),
    actions: ['refresh_leader'],
    message: /^paused, so not acting: fencing/,
  },
  {
    name: 'a stalled standby on an older timeline is not rewound',
    view: aView()
      .cluster(
        aSnapshot()
          .paused()
          .member(aMember('n1', { role: 'primary', timeline: 2 })),
      )
      .local({ streaming: false, timeline: 1, notStreamingSince: NOW - REWIND_AFTER_MS }),
    actions: [],
    message: /^paused, so not acting: rewinding/,
  },
  {
    name: 'the healthy leader carries on, and says it is paused',
    view: aView().primaryWithLock().cluster(aSnapshot().paused()),
    actions: ['refresh_leader', 'sync_slots', 'publish_optime'],
    message: /^paused: no action: I am n1, the leader with the lock/,
  },
  // --- cluster stop / start ---
  {
    name: 'cluster stop: a standby stops first',
    view: aView().cluster(aSnapshot().paused('stop')),
    actions: ['demote'],
    message: /^cluster stop: stopping my PostgreSQL \(standbys go first\)/,
  },
  {
    name: 'cluster stop: the primary waits while a standby still runs',
    view: aView()
      .primaryWithLock()
      .cluster(
        aSnapshot()
          .paused('stop')
          .member(aMember('n2', { state: 'stopped' })),
      ),
    actions: ['refresh_leader'],
    message: /^cluster stop: waiting for n3 to stop before the primary/,
  },
  {
    name: 'cluster stop: every standby down (or its agent gone): the primary stops, keeping the lock',
    view: aView()
      .primaryWithLock()
      .cluster(
        aSnapshot()
          .paused('stop')
          .member(aMember('n2', { state: 'stopped' }))
          .memberGone('n3'),
      ),
    actions: ['refresh_leader', 'demote'],
    message: /every standby is down; stopping the primary, keeping the leader lock/,
  },
  {
    name: 'cluster stopped: nothing starts, the leader keeps its lock',
    view: aView().primaryWithLock().cluster(aSnapshot().paused('stop')).local({ postmaster: 'stopped' }),
    actions: ['refresh_leader'],
    message: /^cluster stopped by an operator/,
  },
  {
    name: 'cluster start: the leader starts first, as primary',
    view: aView().primaryWithLock().cluster(aSnapshot().paused('start')).local({ postmaster: 'stopped' }),
    actions: ['refresh_leader', 'start'],
    message: /restarting PostgreSQL as primary/,
  },
  {
    name: 'cluster start: a standby waits until the primary runs',
    view: aView()
      .cluster(
        aSnapshot()
          .paused('start')
          .member(aMember('n1', { role: 'primary', state: 'stopped', upstream: null })),
      )
      .local({ postmaster: 'stopped' }),
    actions: [],
    message: /^cluster start: waiting for n1 to run as primary before starting/,
  },
  {
    name: 'cluster start: then the standby starts',
    view: aView().cluster(aSnapshot().paused('start')).local({ postmaster: 'stopped' }),
    actions: ['start'],
    message: /starting as a standby of n1/,
  },
  {
    name: 'cluster start with the lock lapsed: the last leader takes it back (not an election)',
    view: aView()
      .primaryWithLock()
      .cluster(aSnapshot().leader(null).paused('start'))
      .lease({ mine: false, validUntil: 0, lastAttemptFailed: false })
      .local({ postmaster: 'stopped' }),
    actions: ['acquire_leader', 'start'],
    message: /starting as primary: I was the last leader/,
  },
  {
    name: 'a primary that cannot reach the store still demotes (fencing is never paused)',
    view: aView().primaryWithLock().storeUnavailable(),
    actions: ['demote'],
    message: /store is unreachable/,
  },
  {
    name: 'a requested switchover still runs: the leader stops cleanly and hands the lock over',
    view: aView()
      .primaryWithLock()
      .cluster(
        aSnapshot()
          .paused()
          .switchover('n1', 'n2', WALL - 3000, { timeoutS: 10, since: WALL - 2000 }),
      ),
    actions: ['refresh_leader', 'demote', 'release_leader'],
    message: /^paused: switching over to n2: drained/,
  },
  {
    name: 'a requested switchover still runs: its target takes the lock and promotes',
    view: aView().cluster(aSnapshot().leader(null).paused().switchover('n1', 'n2')).peer('n3'),
    actions: ['acquire_leader', 'promote', 'clear_failover'],
    message: /^paused: /,
  },
  {
    name: 'the primary a switchover stopped rejoins (it did not crash)',
    view: aView()
      .oldPrimaryBack()
      .cluster(
        aSnapshot()
          .paused()
          .leader('n2')
          .member(aMember('n2', { role: 'primary', timeline: 2 })),
      ),
    actions: ['rewind'],
    message: /^paused: rejoining as a standby of n2/,
  },
];

/** The actions of a decision but the reporting ones that close every decision (tested below). */
const acting = (d: Decision) => d.actions.filter((a) => !REPORTING_ACTIONS.has(a.type)).map((a) => a.type);

describe('decide()', () => {
  for (const row of rows) {
    it(row.name, () => {
      const d = decide(row.view.build());
      assert.deepEqual(acting(d), row.actions, d.message);
      assert.match(d.message, row.message);
    });
  }
});

describe('decide(): a switchover names its target once', () => {
  it('a switchover to whoever fits best pins the target the drain announces, for the election after it', () => {
    const d = decide(
      aView()
        .primaryWithLock()
        .cluster(aSnapshot().switchover('n1', null, WALL - 1000, { timeoutS: 10 }))
        .build(),
    );
    const drain = d.actions.find((a) => a.type === 'start_drain');
    assert.ok(drain?.type === 'start_drain', d.message);
    const target = /switching over to (\w+): draining/.exec(d.message)?.[1];
    assert.ok(target, d.message);
    assert.equal(drain.request.to, target);
  });
});

describe('decide(): reaping, registering and publishing are decisions too', () => {
  it('every decision on a readable store ends by publishing our live status', () => {
    const d = decide(aView().build());
    assert.deepEqual(
      d.actions.map((a) => a.type),
      ['sync_slots', 'publish_member'],
    );
  });

  it('a removed node neither registers nor publishes: it cannot rejoin by itself', () => {
    const d = decide(aView().cluster(aSnapshot().removed('n2')).build());
    assert.deepEqual(
      d.actions.map((a) => a.type),
      ['demote'],
    );
  });

  it('without the store there is nothing to publish to', () => {
    const d = decide(aView().storeUnavailable().build());
    assert.equal(
      d.actions.some((a) => REPORTING_ACTIONS.has(a.type)),
      false,
    );
  });

  it('registers when the store has no registration for us, taking the next free id', () => {
    const snap = aSnapshot().build();
    const registry = new Map(snap.registry);
    registry.delete('n2');
    const d = decide(
      aView()
        .cluster({ ...snap, registry })
        .build(),
    );
    const reg = d.actions.find((a) => a.type === 'register');
    assert.ok(reg && reg.type === 'register');
    assert.deepEqual({ name: reg.registration.name, id: reg.registration.id }, { name: 'n2', id: 4 });
    assert.deepEqual(d.actions.map((a) => a.type).slice(-2), ['register', 'publish_member']);
  });

  it('keeps the registered id and updates a registration whose tags changed', () => {
    const d = decide(aView().tags({ nofailover: true }).build());
    const reg = d.actions.find((a) => a.type === 'register');
    assert.ok(reg && reg.type === 'register');
    assert.equal(reg.registration.id, 2);
    assert.equal(reg.registration.tags.nofailover, true);
  });

  it('a crashed instance that left processes behind is reaped before anything else', () => {
    const d = decide(aView().local({ postmaster: 'stopped', orphans: true, downSince: NOW }).build());
    assert.equal(d.actions[0]?.type, 'reap');
    assert.ok(
      d.actions.some((a) => a.type === 'start'),
      d.message,
    );
  });

  it('never reaps while a long action runs its own postgres in the data directory (initdb, pg_rewind)', () => {
    const d = decide(aView().local({ postmaster: 'stopped', orphans: true }).inFlight('rewind').build());
    assert.equal(
      d.actions.some((a) => a.type === 'reap'),
      false,
    );
  });
});
