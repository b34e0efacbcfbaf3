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
