/**
 * Whole HA cycles (observe -> decide -> execute) on a fake clock and a memory store, with a
 * stand-in instance: the loop's I/O half is driven without a real PostgreSQL or a real wait.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Agent } from '../../../src/ha/agent.js';
import { Callbacks } from '../../../src/ha/callbacks.js';
import { MemoryBackend, MemoryStore } from '../../../src/store/memory.js';
import { waitFor } from '../../../src/util/deadline.js';
import { silentLogger } from '../../../src/util/log.js';
import { defaultConfig, wantedRegistration } from '../../support/builders.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeInstance } from '../../support/fake-instance.js';

const backends: MemoryBackend[] = [];
afterEach(() => backends.splice(0).forEach((b) => b.close()));

function anAgent(clock: FakeClock, backend: MemoryBackend, pg: FakeInstance, callbacks?: Callbacks) {
  return new Agent({
    callbacks,
    name: 'n2',
    config: defaultConfig,
    store: new MemoryStore(backend, defaultConfig.ttlMs),
    pg,
    clock,
    log: silentLogger,
    registration: wantedRegistration('n2'),
  });
}

describe('agent cycles on a fake clock', () => {
  it('a lone standby with nobody holding the lock registers, takes the lock, promotes, then keeps it', async () => {
    const clock = new FakeClock();
    const backend = new MemoryBackend('agent', clock, { sweepIntervalMs: 0 });
    backends.push(backend);
    const pg = new FakeInstance();
    const agent = anAgent(clock, backend, pg);
    const first = await agent.runCycle();
    assert.equal(pg.writeProbe, false, 'no write probe without the lock');
    assert.deepEqual(
      first.actions.map((a) => a.type),
      ['acquire_leader', 'promote', 'register', 'publish_member'],
      first.message,
    );
    assert.ok(pg.calls.includes('promote'));
    assert.equal(agent.status().isLeader, true);
    clock.advance(defaultConfig.loopWaitMs);
    const second = await agent.runCycle();
    assert.equal(pg.writeProbe, true, 'the lock holder proves its primary with a committed write');
    assert.equal(second.actions[0]?.type, 'refresh_leader', second.message);
    assert.match(second.message, /I am n2, the leader with the lock/);
    const snap = await new MemoryStore(backend, 10_000).load(AbortSignal.timeout(1000));
    assert.equal(snap.registry.get('n2')?.id, 1);
    assert.equal(snap.members.get('n2')?.role, 'primary');
  });

  it('a leader whose cycles stop is no leader once ttl has passed on the clock', async () => {
    const clock = new FakeClock();
    const backend = new MemoryBackend('agent', clock, { sweepIntervalMs: 0 });
    backends.push(backend);
    const agent = anAgent(clock, backend, new FakeInstance());
    await agent.runCycle();
    assert.equal(agent.status().isLeader, true);
    clock.advance(defaultConfig.ttlMs);
    assert.equal(agent.status().isLeader, false);
  });

  it('a bad value in the store is reported once, as an event naming the key, and the cycle goes on', async () => {
    const clock = new FakeClock();
    const backend = new MemoryBackend('agent', clock, { sweepIntervalMs: 0 });
    backends.push(backend);
    backend.put('/agent/optime', '{"name":"n1","lsn":"not-an-lsn","timeline":1}');
    const agent = anAgent(clock, backend, new FakeInstance());
    await agent.runCycle();
    await agent.runCycle();
    const events = await new MemoryStore(backend, 10_000).events(50, AbortSignal.timeout(1000));
    const rejected = events.filter((e) => e.kind === 'store_value_rejected');
    assert.equal(rejected.length, 1, 'once per bad write');
    assert.match(rejected[0]?.message ?? '', /\/agent\/optime .*lsn: not an LSN/);
    assert.equal(agent.status().isLeader, true, 'the decision went on without the bad value');
  });

  it('a failing callback becomes a callback_failed event and holds nothing up', async () => {
    const clock = new FakeClock();
    const backend = new MemoryBackend('agent', clock, { sweepIntervalMs: 0 });
    backends.push(backend);
    const callbacks = new Callbacks({ scripts: { on_role_change: '/bin/false' }, timeoutMs: 5000, scope: 'prod', env: {}, log: silentLogger });
    const agent = anAgent(clock, backend, new FakeInstance(), callbacks);
    const first = await agent.runCycle();
    assert.ok(first.actions.some((a) => a.type === 'promote'));
    await callbacks.idle();
    const reader = new MemoryStore(backend, 10_000);
    const failed = await waitFor('a callback_failed event', async () => (await reader.events(10, AbortSignal.timeout(1000))).find((e) => e.kind === 'callback_failed'), {
      timeoutMs: 5000,
    });
    assert.match(failed.message, /on_role_change callback \/bin\/false failed \(exit 1\)/);
  });
});
