import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRoutes, type Health } from '../../../src/proxy/routing.js';
import { aRegistration, aSnapshot } from '../../support/builders.js';

const up = (role: 'primary' | 'standby', lagBytes = 0): Health => ({ ok: true, role, streaming: role === 'standby', lagBytes });
const down: Health = { ok: false, role: null, streaming: false, lagBytes: null };
const opts = { maxLagBytes: 1000, weights: {} };
/** n1 the primary, n2 and n3 streaming standbys, but for what `over` says. */
const health = (over: Record<string, Health> = {}) => new Map<string, Health>([['n1', up('primary')], ['n2', up('standby')], ['n3', up('standby')], ...Object.entries(over)]);

describe('proxy routing', () => {
  it('writes go to the lock holder answering as primary; reads spread over healthy standbys by weight', () => {
    const r = buildRoutes(aSnapshot().build(), health(), { ...opts, weights: { n2: 3, n3: 1 } });
    assert.equal(r.primary?.name, 'n1');
    assert.equal(r.pickReader(0.0, false)?.name, 'n2');
    assert.equal(r.pickReader(0.74, false)?.name, 'n2');
    assert.equal(r.pickReader(0.76, false)?.name, 'n3');
    assert.deepEqual(
      r.nodes.map((n) => n.status),
      ['up', 'up', 'up'],
    );
  });

  it('a standby that is healthy and streaming again is up again by itself (seed 001)', () => {
    const snap = aSnapshot().build();
    const before = buildRoutes(snap, health({ n2: down }), opts);
    assert.equal(before.nodes[1]?.status, 'down');
    const after = buildRoutes(snap, health(), opts);
    assert.equal(after.nodes[1]?.status, 'up');
    assert.equal(after.nodes[1]?.readable, true);
  });

  it('an operator detach keeps a healthy node out of reads, in every proxy that reads the store', () => {
    const snap = { ...aSnapshot().build(), admin: new Map([['n2', { detached: true, at: '' }]]) };
    const r = buildRoutes(snap, health(), opts);
    assert.equal(r.nodes[1]?.status, 'detached');
    for (const x of [0, 0.3, 0.6, 0.99]) assert.equal(r.pickReader(x, false)?.name, 'n3');
  });

  it('lagging standbys serve no reads; with none left, reads go to the primary only where allowed (ro_fallback_to_primary)', () => {
    const r = buildRoutes(aSnapshot().build(), health({ n2: up('standby', 5000), n3: down }), opts);
    assert.equal(r.nodes[1]?.status, 'up');
    assert.equal(r.nodes[1]?.readable, false);
    assert.equal(r.pickReader(0.5, false), null);
    assert.equal(r.pickReader(0.5, true)?.name, 'n1');
    assert.equal(r.reader('n2'), null, 'a lagging standby is no reader to keep either');
  });

  it('no writes to a node that answers as primary without holding the lock (fencing)', () => {
    const r = buildRoutes(aSnapshot().leader('n3').build(), health(), opts);
    assert.equal(r.primary, null);
    assert.equal(r.nodes[0]?.status, 'down', 'a primary without the lock is not up');
  });

  it('noloadbalance tags weigh 0', () => {
    const snap = aSnapshot().build();
    const registry = new Map(snap.registry);
    registry.set('n2', aRegistration('n2', 2, { tags: { priority: 100, location: 'x', nofailover: false, noloadbalance: true, nosync: false, clonefrom: false } }));
    const r = buildRoutes({ ...snap, registry }, health(), opts);
    assert.equal(r.nodes[1]?.weight, 0);
    assert.equal(r.pickReader(0.1, false)?.name, 'n3');
  });

  it('a switchover the leader accepted drains the primary: no new read-write sessions until the next one', () => {
    const all = health();
    const requested = buildRoutes(aSnapshot().switchover('n1', 'n2').build(), all, opts);
    assert.equal(requested.primary?.name, 'n1', 'a request the leader has not accepted changes nothing (it may be refused)');
    assert.equal(requested.draining, null);
    const accepted = buildRoutes(aSnapshot().switchover('n1', 'n2', Date.now(), { timeoutS: 10, since: Date.now() }).build(), all, opts);
    assert.equal(accepted.primary, null);
    assert.equal(accepted.draining?.name, 'n1');
    assert.equal(accepted.pickReader(0.1, false)?.name, 'n2', 'reads go on over the standbys');
  });
});
