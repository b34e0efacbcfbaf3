import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WATCH_LIVE, type StoreChange } from '../../src/store/store.js';
import { MemoryBackend, MemoryStore } from '../../src/store/memory.js';
import { FakeClock } from '../support/fake-clock.js';
import { describeStateStore } from './store.contract.js';

describeStateStore('memory', async () => {
  const clock = new FakeClock();
  const backend = new MemoryBackend('contract', clock, { sweepIntervalMs: 0 });
  const handles: MemoryStore[] = [];
  return {
    handle: () => {
      const s = new MemoryStore(backend, 2000);
      handles.push(s);
      return s;
    },
    expire: async () => {
      clock.advance(2001);
      backend.sweep();
    },
    unreachable: (on) => handles.forEach((s) => s.setPartitioned(on)),
    scope: 'contract',
    putRaw: async (key, value) => backend.put(key, value),
    deleteRaw: async (key) => void backend.del(key),
    close: async () => backend.close(),
  };
});

describe('memory store watch across a partition', () => {
  it('changes during a partition are dropped, so the healed watch says WATCH_LIVE again (re-read)', async () => {
    const backend = new MemoryBackend('heal', new FakeClock(), { sweepIntervalMs: 0 });
    const store = new MemoryStore(backend, 2000);
    const ctrl = new AbortController();
    const seen: StoreChange[] = [];
    const it = store.watch(ctrl.signal)[Symbol.asyncIterator]();
    try {
      seen.push((await it.next()).value);
      store.setPartitioned(true);
      await new MemoryStore(backend, 2000).acquireLeader('other', AbortSignal.timeout(1000));
      store.setPartitioned(false);
      seen.push((await it.next()).value);
      assert.deepEqual(seen, [WATCH_LIVE, WATCH_LIVE]);
    } finally {
      ctrl.abort();
      backend.close();
    }
  });
});
