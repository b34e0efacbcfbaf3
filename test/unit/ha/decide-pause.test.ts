import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REPORTING_ACTIONS } from '../../../src/ha/actions.js';
import { decide } from '../../../src/ha/decide.js';
import { REWIND_AFTER_MS } from '../../../src/ha/decide-led.js';
import { aMember, aSnapshot, aView, NOW, WALL, type ViewBuilder } from '../../support/builders.js';

interface Row {
  readonly name: string;
  readonly view: ViewBuilder;
  readonly actions: readonly string[];
  readonly message: RegExp;
}

const rows: Row[] = [
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

describe('decide() while paused: nothing automatic, operator requests still run', () => {
  for (const row of rows) {
    it(row.name, () => {
      const d = decide(row.view.build());
      assert.deepEqual(
        d.actions.filter((a) => !REPORTING_ACTIONS.has(a.type)).map((a) => a.type),
        row.actions,
        d.message,
      );
      assert.match(d.message, row.message);
    });
  }
});
