/**
 * Invariants of decide() over generated views: whatever the cluster looks like, the decision
 * never promotes without first taking or refreshing the lock, never promotes while another node
 * holds the lock, never mixes promote and follow, and never starts a primary without the store;
 * the floating address goes before any demotion and comes only after the promotion, never to a
 * node another one leads over.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decide } from '../../../src/ha/decide.js';
import type { View } from '../../../src/ha/view.js';
import { aMember, aSnapshot, aView, NOW } from '../../support/builders.js';

const names = ['n1', 'n2', 'n3'] as const;
const lsn = fc.integer({ min: 0x3000000, max: 0x3001000 }).map((n) => `0/${n.toString(16).toUpperCase()}`);

const arbView = fc
  .record({
    self: fc.constantFrom(...names),
    leader: fc.constantFrom<string | null>(null, ...names),
    storeUp: fc.boolean(),
    switchover: fc.option(fc.record({ from: fc.constantFrom(...names), to: fc.option(fc.constantFrom(...names), { nil: null }) }), { nil: null }),
    dataDir: fc.constantFrom<'empty' | 'valid'>('empty', 'valid', 'valid', 'valid'),
    postmaster: fc.constantFrom<'running' | 'starting' | 'stopped'>('running', 'running', 'starting', 'stopped'),
    role: fc.constantFrom<'primary' | 'standby'>('primary', 'standby'),
    streaming: fc.boolean(),
    wasPrimary: fc.boolean(),
    downSince: fc.option(fc.integer({ min: 0, max: 30_000 }), { nil: null }),
    lease: fc.record({ mine: fc.boolean(), validFor: fc.integer({ min: -5000, max: 10_000 }), lastAttemptFailed: fc.boolean() }),
    localLsn: lsn,
    peers: fc.array(fc.record({ lsn, role: fc.constantFrom<'primary' | 'standby'>('primary', 'standby') }), { minLength: 2, maxLength: 2 }),
    nofailover: fc.boolean(),
    inFlight: fc.option(fc.constantFrom<'bootstrap' | 'clone' | 'rewind'>('bootstrap', 'clone', 'rewind'), { nil: null }),
    optime: lsn,
    vipHeld: fc.option(fc.constantFrom<boolean | null>(true, false, null), { nil: undefined }),
  })
  .map((g): View => {
    const snap = aSnapshot().leader(g.leader).optime(g.optime);
    if (g.leader) snap.member(aMember(g.leader, { role: 'primary', upstream: null }));
    if (g.switchover) snap.switchover(g.switchover.from, g.switchover.to);
    const b = aView()
      .self(g.self)
      .cluster(snap)
      .local({
        dataDir: g.dataDir,
        postmaster: g.postmaster,
        role: g.role,
        streaming: g.streaming,
        wasPrimary: g.wasPrimary,
        lsn: g.localLsn,
        downSince: g.downSince === null ? null : NOW - g.downSince,
      })
      .lease({ mine: g.lease.mine, validUntil: NOW + g.lease.validFor, lastAttemptFailed: g.lease.lastAttemptFailed })
      .tags({ nofailover: g.nofailover });
    names
      .filter((n) => n !== g.self)
      .forEach((n, i) => {
        const peer = g.peers[i];
        if (peer) b.peer(n, peer);
      });
    if (!g.storeUp) b.storeUnavailable();
    if (g.inFlight) b.inFlight(g.inFlight);
    if (g.vipHeld !== undefined) b.vip(g.vipHeld);
    return b.build();
  });

const types = (v: View) => decide(v).actions.map((a) => a.type);

describe('decide() invariants', () => {
  it('promote is always preceded by acquire_leader or refresh_leader in the same decision', () => {
    fc.assert(
      fc.property(arbView, (v) => {
        const t = types(v);
        const p = t.indexOf('promote');
        return p === -1 || t.slice(0, p).some((x) => x === 'acquire_leader' || x === 'refresh_leader');
      }),
      { numRuns: 3000 },
    );
  });

  it('never promotes or takes the lock while another node holds it', () => {
    fc.assert(
      fc.property(arbView, (v) => {
        const other = v.cluster.kind === 'snapshot' && v.cluster.leader !== null && v.cluster.leader.name !== v.self;
        const acts = decide(v).actions;
        return !other || !acts.some((a) => a.type === 'promote' || a.type === 'acquire_leader' || (a.type === 'start' && a.as === 'primary'));
      }),
      { numRuns: 3000 },
    );
  });

  it('never promotes and follows in the same decision', () => {
    fc.assert(
      fc.property(arbView, (v) => {
        const t = types(v);
        return !(t.includes('promote') && t.includes('follow'));
      }),
      { numRuns: 3000 },
    );
  });

  it('without the store, never promotes, takes the lock or starts a primary', () => {
    fc.assert(
      fc.property(arbView, (v) => {
        if (v.cluster.kind !== 'unavailable') return true;
        const acts = decide(v).actions;
        return !acts.some((a) => a.type === 'promote' || a.type === 'acquire_leader' || (a.type === 'start' && a.as === 'primary'));
      }),
      { numRuns: 3000 },
    );
  });

  it('a node tagged nofailover never takes the lock to promote', () => {
    fc.assert(
      fc.property(arbView, (v) => {
        const t = types(v);
        return !v.config.tags.nofailover || !(t.includes('acquire_leader') && t.includes('promote'));
      }),
      { numRuns: 3000 },
    );
  });

  it('the floating address is removed before any demotion, fence or release, and added last, only by the lock holder', () => {
    fc.assert(
      fc.property(arbView, (v) => {
        const t = types(v).filter((x) => x !== 'register' && x !== 'publish_member');
        const giveUp = t.findIndex((x) => x === 'demote' || x === 'fence' || x === 'release_leader');
        if (giveUp !== -1) assert.ok(!t.includes('hold_vip') && (v.vip?.held === false || t.indexOf('drop_vip') < giveUp), t.join());
        const hold = t.indexOf('hold_vip');
        if (hold !== -1) {
          assert.equal(hold, t.length - 1, t.join());
          const other = v.cluster.kind === 'snapshot' && v.cluster.leader !== null && v.cluster.leader.name !== v.self;
          assert.ok(v.cluster.kind === 'snapshot' && !other && t.some((x) => x === 'acquire_leader' || x === 'refresh_leader'), t.join());
        }
        assert.ok(!(t.includes('hold_vip') && t.includes('drop_vip')), t.join());
      }),
      { numRuns: 3000 },
    );
  });

  it('every decision says what it decided in one sentence', () => {
    fc.assert(
      fc.property(arbView, (v) => {
        const m = decide(v).message;
        assert.ok(m.length > 10 && !m.includes('\n'), m);
      }),
      { numRuns: 500 },
    );
  });
});
