/**
 * One suite for every StateStore backend, so the embedded store cannot drift from etcd's
 * semantics. A backend supplies handles (one per simulated agent), a way to let time pass past
 * the TTL, and a way to make the store unreachable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StateStore, StoreChange } from '../../src/store/store.js';
import { StoreUnavailableError } from '../../src/util/errors.js';

export interface StoreHarness {
  /** A new agent's handle on the same cluster (same scope). */
  handle(): StateStore;
  /** Lets more than the TTL pass (a fake clock jump, or a real wait). */
  expire(): Promise<void>;
  unreachable(on: boolean): void;
  close(): Promise<void>;
}

const sig = () => AbortSignal.timeout(3000);
const ev = (n: number) => ({ at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(), node: 'a', kind: 'test', message: `event ${n}` });
const member = (name: string) => ({ name, role: 'standby' as const, state: 'running' as const, timeline: 1, lsn: '0/1', replayed_lsn: '0/1', upstream: null, streaming: true, message: 'm', updated_at: new Date().toISOString() });
const reg = (name: string, id: number) => ({ name, id, host: '127.0.0.1', port: 5432 + id, api_url: `http://127.0.0.1:${8000 + id}`, tags: { priority: 100, location: 'x', nofailover: false, noloadbalance: false, nosync: false } });

export function describeStateStore(name: string, make: () => Promise<StoreHarness>): void {
  describe(`StateStore contract: ${name}`, () => {
    let h: StoreHarness;
    const opened: StateStore[] = [];
    const handle = () => {
      const s = h.handle();
      opened.push(s);
      return s;
    };

    before(async () => {
      h = await make();
    });
    after(async () => {
      await Promise.all(opened.map((s) => s.close().catch(() => {})));
      await h.close();
    });

    it('starts empty', async () => {
      const snap = await handle().load(sig());
      assert.equal(snap.leader, null);
      assert.equal(snap.initialize, null);
      assert.equal(snap.members.size, 0);
    });

    it('acquireLeader creates the key only when absent; refresh and release only by the holder', async () => {
      const a = handle();
      const b = handle();
      assert.equal(await a.acquireLeader('a', sig()), true);
      assert.equal(await b.acquireLeader('b', sig()), false, 'the second acquirer loses the compare-and-set');
      assert.equal((await b.load(sig())).leader?.name, 'a');
      assert.equal(await a.refreshLeader('a', sig()), true);
      assert.equal(await b.refreshLeader('b', sig()), false);
      assert.equal(await b.releaseLeader('b', sig()), false);
      assert.equal(await a.releaseLeader('a', sig(), { name: 'a', lsn: '0/5000028', timeline: 3 }), true);
      const snap = await b.load(sig());
      assert.equal(snap.leader, null);
      assert.deepEqual(snap.optime, { name: 'a', lsn: '0/5000028', timeline: 3 }, 'release records the final position');
    });

    it('the leader key and member status expire with the session when not refreshed', async () => {
      const a = handle();
      assert.equal(await a.acquireLeader('x', sig()), true);
      await a.putMember(member('x'), sig());
      await a.register(reg('x', 7), sig());
      const reader = handle();
      assert.equal((await reader.load(sig())).members.has('x'), true);
      await h.expire();
      const snap = await reader.load(sig());
      assert.equal(snap.leader, null, 'the leader key is gone after the TTL');
      assert.equal(snap.members.has('x'), false, 'the live status is gone too');
      assert.equal(snap.registry.get('x')?.id, 7, 'the registration is durable');
      assert.equal(await a.refreshLeader('x', sig()), false, 'a refresh after expiry fails');
      await a.putMember(member('x'), sig());
      assert.equal((await reader.load(sig())).members.has('x'), true, 'a new session is granted on the next write');
    });

    it('a restarted agent adopts the leader key that still names it', async () => {
      const first = handle();
      assert.equal(await first.acquireLeader('r', sig()), true);
      const restarted = handle();
      assert.equal(await restarted.refreshLeader('r', sig()), true);
      assert.equal(await restarted.refreshLeader('someone-else', sig()), false);
      assert.equal(await restarted.releaseLeader('r', sig()), true);
    });

    it('close with revoke removes the session keys at once', async () => {
      const a = handle();
      assert.equal(await a.acquireLeader('v', sig()), true);
      await a.putMember(member('v'), sig());
      await a.close({ revoke: true });
      const snap = await handle().load(sig());
      assert.equal(snap.leader, null);
      assert.equal(snap.members.has('v'), false);
    });

    it('initialize is set once', async () => {
      const a = handle();
      assert.equal(await a.initialize('111', sig()), true);
      assert.equal(await handle().initialize('222', sig()), false);
      assert.equal((await a.load(sig())).initialize, '111');
    });

    it('failover requests: one at a time, cleared only at the revision read', async () => {
      const a = handle();
      const req = { kind: 'switchover' as const, from: 'a', to: 'b', requested_at: new Date().toISOString() };
      assert.equal(await a.requestFailover(req, sig()), true);
      assert.equal(await a.requestFailover({ ...req, to: 'c' }, sig()), false);
      const f = (await a.load(sig())).failover!;
      assert.deepEqual(f.value, req);
      assert.equal(await a.clearFailover(f.revision + 1000, sig()), false);
      assert.equal(await a.updateFailover({ ...req, draining_since: 'x' }, f.revision + 1000, sig()), false);
      assert.equal(await a.updateFailover({ ...req, draining_since: 'x' }, f.revision, sig()), true);
      const g = (await a.load(sig())).failover!;
      assert.equal(g.value.draining_since, 'x');
      assert.equal(await a.clearFailover(f.revision, sig()), false, 'the request changed since it was read');
      assert.equal(await a.clearFailover(g.revision, sig()), true);
      assert.equal((await a.load(sig())).failover, null);
    });

    it('sync state is compare-and-set on its revision (0 = absent)', async () => {
      const a = handle();
      assert.equal(await a.setSync({ leader: 'a', members: ['b'], mode: 'on', count: 1, wanted: 1 }, 0, sig()), true);
      assert.equal(await a.setSync({ leader: 'a', members: ['c'], mode: 'on', count: 1, wanted: 1 }, 0, sig()), false);
      const s = (await a.load(sig())).sync!;
      assert.equal(await a.setSync({ leader: 'a', members: ['c'], mode: 'on', count: 1, wanted: 1 }, s.revision, sig()), true);
      assert.deepEqual((await a.load(sig())).sync?.value.members, ['c']);
    });

    it('admin state (detach) is shared by every handle and can be cleared', async () => {
      const a = handle();
      const at = new Date().toISOString();
      await a.setAdmin('n9', { detached: true, at }, sig());
      assert.deepEqual((await handle().load(sig())).admin.get('n9'), { detached: true, at });
      await a.setAdmin('n9', null, sig());
      assert.equal((await handle().load(sig())).admin.has('n9'), false);
    });

    it('events come back newest-last, limited to the newest N', async () => {
      const a = handle();
      for (let i = 1; i <= 5; i++) await a.appendEvent(ev(i), sig());
      assert.deepEqual((await a.events(3, sig())).map((e) => e.message), ['event 3', 'event 4', 'event 5']);
    });

    it('watch reports a leader change', async () => {
      const ctrl = new AbortController();
      const a = handle();
      const seen: StoreChange[] = [];
      const done = (async () => {
        for await (const c of a.watch(ctrl.signal)) {
          seen.push(c);
          if (c.kind === 'leader') return c;
        }
        return null;
      })();
      // etcd sets its watch up asynchronously: keep changing the key until the watcher sees it.
      const writer = handle();
      for (let i = 0; i < 50 && seen.every((c) => c.kind !== 'leader'); i++) {
        await writer.acquireLeader('w', sig());
        await writer.releaseLeader('w', sig());
        await new Promise((r) => setTimeout(r, 100));
      }
      const change = await done;
      ctrl.abort();
      assert.equal(change?.kind, 'leader');
    });

    it('an unreachable store throws StoreUnavailableError within the deadline, and recovers', async () => {
      const a = handle();
      await a.load(sig());
      h.unreachable(true);
      try {
        const started = performance.now();
        await assert.rejects(a.load(AbortSignal.timeout(1000)), StoreUnavailableError);
        await assert.rejects(a.acquireLeader('u', AbortSignal.timeout(1000)), StoreUnavailableError);
        assert.ok(performance.now() - started < 5000, 'each call gave up at its deadline');
      } finally {
        h.unreachable(false);
      }
      assert.equal((await a.load(sig())).kind, 'snapshot');
    });
  });
}
