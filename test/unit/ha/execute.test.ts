/**
 * The executor against the memory store on a fake clock, with a stand-in instance: the lease it
 * returns, where it stops, and that the reporting actions still run after a failure.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { decision, type Action } from '../../../src/ha/actions.js';
import { Callbacks } from '../../../src/ha/callbacks.js';
import { Executor, GUARD_MARGIN_MS, NO_LEASE, type ExecutorDeps } from '../../../src/ha/execute.js';
import { FloatingIp } from '../../../src/vip/floating-ip.js';
import { MemoryBackend, MemoryStore } from '../../../src/store/memory.js';
import { waitFor } from '../../../src/util/deadline.js';
import { silentLogger } from '../../../src/util/log.js';
import { aView, defaultConfig } from '../../support/builders.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeInstance } from '../../support/fake-instance.js';

const backends: MemoryBackend[] = [];
afterEach(() => backends.splice(0).forEach((b) => b.close()));

function setup(extra: Pick<ExecutorDeps, 'vip' | 'callbacks'> = {}) {
  const clock = new FakeClock();
  const backend = new MemoryBackend('exec', clock, { sweepIntervalMs: 0 });
  backends.push(backend);
  const store = new MemoryStore(backend, defaultConfig.ttlMs);
  const pg = new FakeInstance();
  let wakes = 0;
  const executor = new Executor({ name: 'n2', config: defaultConfig, store, pg, clock, log: silentLogger, wake: () => wakes++, ...extra });
  return { clock, backend, store, pg, executor, wakes: () => wakes };
}
const run = (e: Executor, ...actions: Action[]) => e.run(decision('test', ...actions), aView().lease(NO_LEASE).build());

describe('executor', () => {
  it('a lock taken is valid for ttl from when the call was sent, and recorded as an event', async () => {
    const { clock, store, executor } = setup();
    const sent = clock.now();
    const r = await run(executor, { type: 'acquire_leader' });
    assert.deepEqual(r, { ok: true, lease: { mine: true, validUntil: sent + defaultConfig.ttlMs, lastAttemptFailed: false } });
    assert.equal((await store.load(AbortSignal.timeout(1000))).leader?.name, 'n2');
    assert.deepEqual(
      (await store.events(10, AbortSignal.timeout(1000))).map((e) => e.kind),
      ['leader_acquired'],
    );
  });

  it('the lease goes to the guard at every won lock, less the margin; a release with PostgreSQL down disarms it', async () => {
    const { clock, pg, executor } = setup();
    const sent = clock.now();
    await run(executor, { type: 'acquire_leader' });
    assert.equal(pg.guardedUntil, sent + defaultConfig.ttlMs - GUARD_MARGIN_MS);
    await run(executor, { type: 'release_leader' });
    assert.equal(pg.guardedUntil, sent + defaultConfig.ttlMs - GUARD_MARGIN_MS, 'PostgreSQL still runs: the guard keeps its deadline');
    pg.mode = 'stopped';
    await run(executor, { type: 'acquire_leader' });
    await run(executor, { type: 'release_leader' });
    assert.equal(pg.guardedUntil, null);
  });

  it('a lost compare-and-set stops the decision and wakes the loop; the reporting actions still run', async () => {
    const { backend, store, pg, executor, wakes } = setup();
    assert.equal(await new MemoryStore(backend, 10_000).acquireLeader('n1', AbortSignal.timeout(1000)), true);
    const r = await run(executor, { type: 'acquire_leader' }, { type: 'promote' }, { type: 'publish_member' });
    assert.equal(r.ok, false);
    assert.deepEqual(r.failed, { action: 'acquire_leader', error: 'compare-and-set lost' });
    assert.equal(r.lease.mine, false);
    assert.equal(wakes(), 1);
    assert.equal(pg.calls.includes('promote'), false, 'nothing after the failure acts');
    assert.equal((await store.load(AbortSignal.timeout(1000))).members.get('n2')?.message, 'test', 'the member status is published anyway');
  });

  it('a refresh that cannot reach the store for retry_timeout fails, and the lease says so', async () => {
    const { clock, store, executor } = setup();
    const held = await run(executor, { type: 'acquire_leader' });
    store.setPartitioned(true);
    const started = clock.now();
    const view = aView().lease(held.lease).build();
    const r = await executor.run(decision('refresh', { type: 'refresh_leader' }), view);
    assert.equal(r.ok, false);
    assert.match(r.failed!.error, /could not refresh the leader lock within retry_timeout/);
    assert.deepEqual(r.lease, { mine: false, validUntil: held.lease.validUntil, lastAttemptFailed: true });
    assert.ok(clock.now() - started >= defaultConfig.retryTimeoutMs, 'it retried for retry_timeout on the injected clock');
  });

  it('a demote is a stop on purpose (no crash); a start clears it', async () => {
    const { executor } = setup();
    await run(executor, { type: 'demote', mode: 'immediate' });
    assert.equal(executor.state(NO_LEASE).stoppedOnPurpose, true);
    await run(executor, { type: 'start', as: 'standby', upstream: null });
    assert.equal(executor.state(NO_LEASE).stoppedOnPurpose, false);
  });

  it('release gives the lease up and records the final checkpoint of a clean stop', async () => {
    const { store, pg, executor } = setup();
    await run(executor, { type: 'acquire_leader' });
    pg.mode = 'stopped';
    pg.control = { ...pg.control, state: 'shut down', timeline: 3, checkpointLsn: 0x5000028n };
    const r = await run(executor, { type: 'release_leader' });
    assert.deepEqual(r.lease, NO_LEASE);
    const snap = await store.load(AbortSignal.timeout(1000));
    assert.equal(snap.leader, null);
    assert.deepEqual(snap.optime, { name: 'n2', lsn: 0x5000028n, timeline: 3 });
  });

  it('reap kills the leftovers and says so once; register and publish write the store', async () => {
    const { store, pg, executor } = setup();
    pg.orphans = true;
    const reg = { name: 'n2', id: 2, host: '10.0.0.2', port: 5432, api_url: 'http://10.0.0.2:8008', tags: defaultConfig.tags };
    const r = await run(executor, { type: 'reap' }, { type: 'reap' }, { type: 'register', registration: reg }, { type: 'publish_member' });
    assert.equal(r.ok, true);
    assert.deepEqual(pg.calls, ['reapCrashed', 'reapCrashed']);
    const snap = await store.load(AbortSignal.timeout(1000));
    assert.deepEqual(snap.registry.get('n2'), reg);
    assert.equal(snap.members.get('n2')?.state, 'running');
    assert.deepEqual(
      (await store.events(10, AbortSignal.timeout(1000))).map((e) => e.kind),
      ['reaped'],
    );
  });

  it('fires the callbacks for a promotion and a demotion, with the role', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgw-exec-cb-'));
    try {
      const script = join(dir, 'cb.sh');
      writeFileSync(script, `#!/bin/sh\necho "$1 $2 $3" >> ${join(dir, 'calls')}\n`, { mode: 0o755 });
      const callbacks = new Callbacks({ scripts: { on_role_change: script, on_stop: script }, timeoutMs: 5000, scope: 'prod', env: {}, log: silentLogger });
      const { executor } = setup({ callbacks });
      await executor.run(decision('test', { type: 'promote' }, { type: 'demote', mode: 'immediate' }), aView().local({ role: 'primary' }).build());
      await callbacks.idle();
      assert.equal(readFileSync(join(dir, 'calls'), 'utf8'), 'on_role_change primary prod\non_stop primary prod\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a floating address that cannot be removed is recorded and never stops a demotion; one that cannot be added stops the decision', async () => {
    const vip = new FloatingIp({ address: '192.0.2.10', prefix: 32, interface: 'pgwnone0' }, silentLogger);
    const { store, pg, executor } = setup({ vip });
    const dropped = await run(executor, { type: 'drop_vip', reason: 'test' }, { type: 'demote', mode: 'immediate' });
    assert.equal(dropped.ok, true);
    assert.ok(pg.calls.includes('stop immediate'), pg.calls.join());
    const held = await run(executor, { type: 'hold_vip', reason: 'test' }, { type: 'sync_slots' });
    assert.equal(held.ok, false);
    assert.equal(held.failed?.action, 'hold_vip');
    const events = await store.events(10, AbortSignal.timeout(1000));
    assert.deepEqual(
      events.map((e) => e.kind).filter((k) => k.startsWith('vip')),
      ['vip_failed', 'vip_failed'],
    );
    assert.match(events.find((e) => e.kind === 'vip_failed')?.message ?? '', /192\.0\.2\.10\/32 (from|to) pgwnone0/);
  });

  it('a rewound standby that cannot start is cloned again', async () => {
    const { store, pg, executor } = setup();
    await store.register({ name: 'n1', id: 1, host: '10.0.0.1', port: 5432, api_url: 'http://10.0.0.1:8008', tags: defaultConfig.tags }, AbortSignal.timeout(1000));
    const view = aView()
      .cluster(await store.load(AbortSignal.timeout(1000)))
      .build();
    pg.mode = 'stopped';
    pg.failNextStart = true;
    await executor.run(decision('test', { type: 'rewind', from: 'n1' }), view);
    await waitFor('the rewind to end', () => executor.state(NO_LEASE).inFlight === null, { timeoutMs: 5000 });
    assert.deepEqual(
      pg.calls.filter((c) => c !== 'reapCrashed'),
      ['rewind', 'start standby', 'clone', 'start standby'],
    );
    assert.equal(pg.mode, 'running');
    const kinds = (await store.events(10, AbortSignal.timeout(1000))).map((e) => e.kind);
    assert.deepEqual(kinds, ['rewind', 'rewound', 'rewind_failed', 'cloned']);
  });
});
