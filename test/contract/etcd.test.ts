import { EtcdStore } from '../../src/store/etcd.js';
import { waitFor } from '../../src/util/deadline.js';
import { startEtcd } from '../support/etcd.js';
import { describeStateStore } from './store.contract.js';

describeStateStore('etcd (real server)', async () => {
  const etcd = await startEtcd();
  const scope = `contract-${process.pid}`;
  const make = () => new EtcdStore({ endpoints: [etcd.endpoint], scope, ttlSeconds: 2, callTimeoutMs: 1000 });
  const probe = make();
  return {
    handle: make,
    expire: async () => {
      // Real time: the lease (2 s) must run out on the server.
      await waitFor('the leader key to expire in etcd', async () => (await probe.load(AbortSignal.timeout(1000))).leader === null, { timeoutMs: 8000, intervalMs: 200 });
      await new Promise((r) => setTimeout(r, 300));
    },
    unreachable: (on) => (on ? etcd.pause() : etcd.resume()),
    close: async () => {
      await probe.close();
      await etcd.stop();
    },
  };
});
