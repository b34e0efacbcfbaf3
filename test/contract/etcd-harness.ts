/**
 * The store contract's harness for a real etcd, plain or secured: handles from `make`, expiry by
 * real time (the 2 s lease must run out on the server), raw writes through `raw`.
 */
import type { Etcd3 } from 'etcd3';
import type { EtcdStore } from '../../src/store/etcd.js';
import { waitFor } from '../../src/util/deadline.js';
import type { TestEtcd } from '../support/etcd.js';
import type { StoreHarness } from './store.contract.js';

export function etcdHarness(o: { etcd: TestEtcd; scope: string; make: () => EtcdStore; raw: Etcd3; cleanup?: () => void }): StoreHarness {
  const probe = o.make();
  return {
    handle: o.make,
    expire: async () => {
      await waitFor(
        'the session keys to expire in etcd',
        async () => {
          const snap = await probe.load(AbortSignal.timeout(1000));
          return snap.leader === null && snap.members.size === 0;
        },
        { timeoutMs: 8000, intervalMs: 200 },
      );
    },
    unreachable: (on) => (on ? o.etcd.pause() : o.etcd.resume()),
    scope: o.scope,
    putRaw: async (key, value) => void (await o.raw.put(key).value(value)),
    deleteRaw: async (key) => void (await o.raw.delete().key(key)),
    close: async () => {
      o.raw.close();
      await probe.close();
      await o.etcd.stop();
      o.cleanup?.();
    },
  };
}
