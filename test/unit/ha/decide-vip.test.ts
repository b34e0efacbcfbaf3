import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REPORTING_ACTIONS } from '../../../src/ha/actions.js';
import { decide } from '../../../src/ha/decide.js';
import { aSnapshot, aView, NOW, type ViewBuilder } from '../../support/builders.js';

interface Row {
  readonly name: string;
  readonly view: ViewBuilder;
  /** The decision's actions (reporting ones left out), the address's among them. */
  readonly actions: readonly string[];
  readonly reason?: RegExp;
}

const rows: Row[] = [
  {
    name: 'the leader running its primary without the address: adds it after the refresh',
    view: aView().primaryWithLock().vip(false),
    actions: ['refresh_leader', 'sync_slots', 'publish_optime', 'hold_vip'],
    reason: /I hold the leader lock and run the primary/,
  },
  { name: 'the leader that holds it already: nothing to do', view: aView().primaryWithLock().vip(true), actions: ['refresh_leader', 'sync_slots', 'publish_optime'] },
  {
    name: 'a standby that holds it (another node leads): removes it first',
    view: aView().vip(true),
    actions: ['drop_vip', 'sync_slots'],
    reason: /n1 holds the leader lock/,
  },
  { name: 'a standby without it: nothing to do', view: aView().vip(false), actions: ['sync_slots'] },
  {
    name: 'could not tell whether a standby holds it: removes it to be sure',
    view: aView().vip(null),
    actions: ['drop_vip', 'sync_slots'],
  },
  {
    name: 'elected: acquires, promotes, and only then adds the address',
    view: aView().cluster(aSnapshot().leader(null)).local({ lsn: '0/3000100' }).peer('n3', { lsn: '0/3000000' }).vip(false),
    actions: ['acquire_leader', 'promote', 'hold_vip'],
    reason: /promoted/,
  },
  {
    name: 'holding the lock while a standby: promotes, then adds',
    view: aView()
      .self('n1')
      .lease({ mine: true, validUntil: NOW + 5000, lastAttemptFailed: false })
      .vip(false),
    actions: ['refresh_leader', 'promote', 'hold_vip'],
  },
  {
    name: 'a primary that could not refresh its lock: removes the address before demoting',
    view: aView()
      .primaryWithLock()
      .lease({ mine: false, validUntil: NOW + 5000, lastAttemptFailed: true })
      .vip(true),
    actions: ['drop_vip', 'demote'],
    reason: /giving the leader lock up/,
  },
  {
    name: 'store unreachable on the primary: removes the address before demoting',
    view: aView().primaryWithLock().storeUnavailable().vip(true),
    actions: ['drop_vip', 'demote'],
    reason: /store is unreachable/,
  },
  {
    name: 'a crashed primary restarted in place keeps the address (restart in the same decision)',
    view: aView()
      .primaryWithLock()
      .local({ postmaster: 'stopped', downSince: NOW - 500 })
      .vip(true),
    actions: ['refresh_leader', 'start'],
  },
  {
    name: 'a crashed primary restarted in place without the address: adds it after the start',
    view: aView()
      .primaryWithLock()
      .local({ postmaster: 'stopped', downSince: NOW - 500 })
      .vip(false),
    actions: ['refresh_leader', 'start', 'hold_vip'],
    reason: /started as primary/,
  },
  {
    name: 'primary_start_timeout 0: the crashed primary removes the address with the lock',
    view: aView()
      .primaryWithLock()
      .config({ primaryStartTimeoutMs: 0 })
      .local({ postmaster: 'stopped', downSince: NOW - 100 })
      .vip(true),
    actions: ['drop_vip', 'release_leader'],
    reason: /giving the leader lock up/,
  },
  {
    name: 'a hung primary is fenced: the address goes first',
    view: aView()
      .primaryWithLock()
      .local({ postmaster: 'starting', pid: 42, unresponsive: true, hungSince: NOW - 6000 })
      .vip(true),
    actions: ['drop_vip', 'fence', 'release_leader'],
  },
  {
    name: 'no preemption: the old primary back while another leads never takes the address',
    view: aView().oldPrimaryBack().vip(false),
    actions: ['rewind'],
  },
  {
    name: 'a primary running while another node holds the lock: removes the address, then demotes',
    view: aView().cluster(aSnapshot().leader('n3')).local({ role: 'primary' }).vip(true),
    actions: ['drop_vip', 'demote'],
    reason: /n3 holds the leader lock/,
  },
];

describe('decide(): the floating address follows the writable leader', () => {
  for (const row of rows) {
    it(row.name, () => {
      const d = decide(row.view.build());
      const acting = d.actions.filter((a) => !REPORTING_ACTIONS.has(a.type));
      assert.deepEqual(
        acting.map((a) => a.type),
        row.actions,
        d.message,
      );
      const vip = acting.find((a) => a.type === 'hold_vip' || a.type === 'drop_vip');
      if (row.reason) assert.match(vip && 'reason' in vip ? vip.reason : '', row.reason);
    });
  }

  it('without a configured address no decision mentions one', () => {
    for (const row of rows) {
      const v = row.view.build();
      const d = decide({ ...v, vip: null });
      assert.equal(
        d.actions.some((a) => a.type === 'hold_vip' || a.type === 'drop_vip'),
        false,
        row.name,
      );
    }
  });
});
