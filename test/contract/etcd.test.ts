import { Etcd3 } from 'etcd3';
import { EtcdStore } from '../../src/store/etcd.js';
import { waitFor } from '../../src/util/deadline.js';
import { startEtcd } from '../support/etcd.js';
import { describeStateStore } from './store.contract.js';

describeStateStore('etcd (real server)', async () => {
  const etcd = await startEtcd();
  const scope = `contract-${process.pid}`;
  const make = () => new EtcdStore({ endpoints: [etcd.endpoint], scope, ttlSeconds: 2, callTimeoutMs: 1000 });
  const probe = make();
  const raw = new Etcd3({ hosts: etcd.endpoint });
  return {
    handle: make,
    expire: async () => {
      // Real time: the lease (2 s) must run out on the server, taking every key bound to it.
      await waitFor(
        'the session keys to expire in etcd',
        async () => {
          const snap = await probe.load(AbortSignal.timeout(1000));
          return snap.leader === null && snap.members.size === 0;
        },
        { timeoutMs: 8000, intervalMs: 200 },
      );
    },
    unreachable: (on) => (on ? etcd.pause() : etcd.resume()),
    scope,
    putRaw: async (key, value) => void (await raw.put(key).value(value)),
    deleteRaw: async (key) => void (await raw.delete().key(key)),
    close: async () => {
      raw.close();
      await probe.close();
      await etcd.stop();
    },
  };
});
