/**
 * One suite for every StateStore backend, so the embedded store cannot drift from etcd's
 * semantics. A backend supplies handles (one per simulated agent), a way to let time pass past
 * the TTL, and a way to make the store unreachable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { keys } from '../../src/store/keys.js';
import { WATCH_LIVE, type StateStore, type StoreChange } from '../../src/store/store.js';
import type { ClusterEvent, FailoverRequest } from '../../src/store/types.js';
import { StoreUnavailableError } from '../../src/util/errors.js';
import { parseLsn } from '../../src/util/lsn.js';

export interface StoreHarness {
  /** A new agent's handle on the same cluster (same scope). */
  handle(): StateStore;
  /** Lets more than the TTL pass (a fake clock jump, or a real wait). */
  expire(): Promise<void>;
  unreachable(on: boolean): void;
  /** The key prefix of the handles, and raw access to it: what a hostile or buggy writer can do. */
  readonly scope: string;
  putRaw(key: string, value: string): Promise<void>;
  deleteRaw(key: string): Promise<void>;
  close(): Promise<void>;
}

const sig = () => AbortSignal.timeout(3000);
/** `p`, or a failure naming what did not come within 5 s. */
function withDeadline<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`waited 5 s for ${what}`)), 5000)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
const ev = (n: number): ClusterEvent => ({ at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(), node: 'a', kind: 'started', message: `event ${n}` });
const member = (name: string) => ({
  name,
  role: 'standby' as const,
  state: 'running' as const,
  timeline: 1,
  lsn: 1n,
  replayed_lsn: 1n,
  upstream: null,
  streaming: true,
  message: 'm',
  disk_full: false,
  vip: null,
  clone: null,
  updated_at_ms: Date.now(),
});
/** A member status in its stored form, for raw writes. */
const memberJson = (name: string, over: Record<string, unknown> = {}) =>
  JSON.stringify({
    name,
    role: 'standby',
    state: 'running',
    timeline: 1,
    lsn: '0/1',
    replayed_lsn: '0/1',
    upstream: null,
    streaming: true,
    message: 'm',
    updated_at: new Date().toISOString(),
    ...over,
  });
const reg = (name: string, id: number) => ({
  name,
  id,
  host: '127.0.0.1',
  port: 5432 + id,
  api_url: `http://127.0.0.1:${8000 + id}`,
  tags: { priority: 100, location: 'x', nofailover: false, noloadbalance: false, nosync: false, clonefrom: false },
});

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
      assert.equal(await a.releaseLeader('a', sig(), { name: 'a', lsn: parseLsn('0/5000028'), timeline: 3 }), true);
      const snap = await b.load(sig());
      assert.equal(snap.leader, null);
      assert.deepEqual(snap.optime, { name: 'a', lsn: parseLsn('0/5000028'), timeline: 3 }, 'release records the final position');
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

    it('unregister forgets a member at once: registration, live status and proxy setting; others stay', async () => {
      const a = handle();
      for (const n of ['x', 'y']) {
        await a.putMember(member(n), sig());
        await a.register(reg(n, n === 'x' ? 1 : 2), sig());
        await a.setAdmin(n, { detached: true, at: new Date().toISOString() }, sig());
      }
      await a.unregister('x', sig());
      const snap = await handle().load(sig());
      assert.deepEqual([...snap.registry.keys()], ['y']);
      assert.deepEqual([...snap.members.keys()], ['y']);
      assert.deepEqual([...snap.admin.keys()], ['y']);
      await a.unregister('nobody', sig());
    });

    it('a removed node leaves a tombstone until readmitted', async () => {
      const a = handle();
      await a.register(reg('z', 3), sig());
      const at = new Date().toISOString();
      await a.unregister('z', sig(), { at });
      let snap = await handle().load(sig());
      assert.equal(snap.registry.has('z'), false);
      assert.deepEqual(snap.removed.get('z'), { at });
      // Writes its agent decided before it saw the removal do not bring it back.
      await a.register(reg('z', 3), sig());
      await a.putMember(member('z'), sig());
      snap = await handle().load(sig());
      assert.equal(snap.registry.has('z'), false);
      assert.equal(snap.members.has('z'), false);
      await a.readmit('z', sig());
      snap = await handle().load(sig());
      assert.equal(snap.removed.has('z'), false);
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
      const req: FailoverRequest = { kind: 'switchover', from: 'a', to: 'b', requested_at_ms: Date.UTC(2026, 0, 1) };
      assert.equal(await a.requestFailover(req, sig()), true);
      assert.equal(await a.requestFailover({ ...req, to: 'c' }, sig()), false);
      const f = (await a.load(sig())).failover!;
      assert.deepEqual(f.value, req);
      assert.equal(await a.clearFailover(f.revision + 1000, sig()), false);
      const draining = { ...req, draining_since_ms: Date.UTC(2026, 0, 1, 0, 0, 5) };
      assert.equal(await a.updateFailover(draining, f.revision + 1000, sig()), false);
      assert.equal(await a.updateFailover(draining, f.revision, sig()), true);
      const g = (await a.load(sig())).failover!;
      assert.equal(g.value.draining_since_ms, draining.draining_since_ms);
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
      const narrowing = { to: ['c'], count: 1, lsn: parseLsn('0/5000028') };
      const s2 = (await a.load(sig())).sync!;
      assert.equal(await a.setSync({ leader: 'a', members: ['b', 'c'], mode: 'on', count: 1, wanted: 1, narrowing }, s2.revision, sig()), true);
      assert.deepEqual((await a.load(sig())).sync?.value.narrowing, narrowing, 'the narrowing LSN round-trips');
    });

    it('validates every value it reads: garbage, wrong types and malformed LSNs are left out and reported, never thrown', async () => {
      const a = handle();
      const k = keys(h.scope);
      const bad: Record<string, [string, RegExp]> = {
        [k.leader]: ['', /letters, digits/],
        [k.initialize]: ['not-a-sysid', /not a system identifier/],
        [k.optime]: ['{"name":"a","lsn":"zz/1","timeline":1}', /lsn: not an LSN/],
        [k.failover]: ['{"kind":"switchover","from":"a","to":"b","requested_at":"yesterday"}', /requested_at/],
        [k.sync]: ['{"leader":"a","members":["b"],"mode":"on","count":1,"wanted":1,"narrowing":{"to":["b"],"count":1,"lsn":"1/2/3"}}', /narrowing\.lsn: not an LSN/],
        [k.member('m1')]: ['{not json', /not JSON/],
        [k.member('m2')]: [memberJson('m2', { lsn: '0/XYZ' }), /lsn: not an LSN/],
        [k.member('m3')]: [memberJson('m3', { timeline: 'one' }), /timeline/],
        [k.member('m4')]: [memberJson('m5'), /names m5, but the key is m4/],
        [k.registration('r1')]: ['{"name":"r1","id":"one","host":"h","port":1,"api_url":"http://h:1","tags":{}}', /id/],
        [k.registration('r2')]: ['[]', /expected object/i],
        [k.admin('d1')]: ['{"detached":"yes","at":"2026-01-01T00:00:00Z"}', /detached/],
        [k.admin('d2')]: ['null', /expected object/i],
        [k.proxy('p1')]: ['{"name":"p1","nodes":[{"name":"n1","status":"sideways"}],"updated_at":"2026-01-01T00:00:00Z"}', /nodes\.0\.status/],
        [k.proxy('p2')]: ['{"name":"p3","nodes":[],"updated_at":"2026-01-01T00:00:00Z"}', /names p3, but the key is p2/],
      };
      const garbageEvent = `${k.eventsPrefix}9999999999999-000000-zz`;
      try {
        for (const [key, [value]] of Object.entries(bad)) await h.putRaw(key, value);
        await h.putRaw(garbageEvent, '{"at":"now","kind":"boom"}');
        const snap = await a.load(sig());
        assert.equal(snap.leader, null);
        assert.equal(snap.initialize, null);
        assert.equal(snap.optime, null);
        assert.equal(snap.failover, null);
        assert.equal(snap.sync, null);
        for (const m of ['m1', 'm2', 'm3', 'm4', 'm5']) assert.equal(snap.members.has(m), false, `member ${m} is left out`);
        assert.equal(snap.registry.size, [...snap.registry.keys()].filter((n) => !n.startsWith('r')).length, 'no bad registration is kept');
        assert.equal(snap.admin.has('d1') || snap.admin.has('d2'), false);
        assert.equal(snap.proxies.size, 0, 'no bad proxy view is kept');
        const rejected = new Map(snap.rejected.map((r) => [r.key, r]));
        for (const [key, [, reason]] of Object.entries(bad)) {
          const r = rejected.get(key);
          assert.ok(r, `${key} is reported`);
          assert.match(r.reason, reason, `${key}: ${r.reason}`);
          assert.ok(r.revision > 0);
        }
        assert.equal(snap.rejected.length, Object.keys(bad).length);
        const events = await a.events(5, sig());
        assert.ok(
          events.every((e) => e.kind !== ('boom' as string)),
          'a malformed event is left out of the log',
        );
      } finally {
        for (const key of [...Object.keys(bad), garbageEvent]) await h.deleteRaw(key);
      }
    });

    it('admin state (detach) is shared by every handle and can be cleared', async () => {
      const a = handle();
      const at = new Date().toISOString();
      await a.setAdmin('n9', { detached: true, at }, sig());
      assert.deepEqual((await handle().load(sig())).admin.get('n9'), { detached: true, at });
      await a.setAdmin('n9', null, sig());
      assert.equal((await handle().load(sig())).admin.has('n9'), false);
    });

    it('a proxy view is shared by every handle, replaced by the next one, and goes with its session', async () => {
      const p = handle();
      const view = (status: 'up' | 'down') => ({
        name: 'px1',
        nodes: [
          { name: 'n1', status: 'up' as const },
          { name: 'n2', status },
        ],
        updated_at_ms: Date.parse('2026-11-30T12:00:00.000Z'),
      });
      await p.putProxy(view('up'), sig());
      await p.putProxy(view('down'), sig());
      const reader = handle();
      assert.deepEqual((await reader.load(sig())).proxies.get('px1'), view('down'));
      await p.close({ revoke: true });
      assert.equal((await reader.load(sig())).proxies.has('px1'), false, 'a stopped proxy is forgotten');
    });

    it('a pause is shared by every handle until resumed', async () => {
      const a = handle();
      const at = new Date().toISOString();
      await a.setPause({ at }, sig());
      assert.deepEqual((await handle().load(sig())).pause, { at });
      await a.setPause(null, sig());
      assert.equal((await handle().load(sig())).pause, null);
    });

    it('events come back newest-last, limited to the newest N', async () => {
      const a = handle();
      for (let i = 1; i <= 5; i++) await a.appendEvent(ev(i), sig());
      assert.deepEqual(
        (await a.events(3, sig())).map((e) => e.message),
        ['event 3', 'event 4', 'event 5'],
      );
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

    it('a watch says when it is live (WATCH_LIVE first): a change made after that is delivered', async () => {
      const ctrl = new AbortController();
      const a = handle();
      const it = a.watch(ctrl.signal)[Symbol.asyncIterator]();
      try {
        const first = await withDeadline(it.next(), 'the watch to go live');
        assert.equal(first.value, WATCH_LIVE);
        // Live means nothing after this point is missed: one write, no retries.
        await handle().acquireLeader('w', sig());
        for (;;) {
          const next = await withDeadline(it.next(), 'the leader change after WATCH_LIVE');
          if (next.value?.kind === 'leader') break;
        }
      } finally {
        ctrl.abort();
      }
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
