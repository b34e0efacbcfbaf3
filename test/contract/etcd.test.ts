import { Etcd3 } from 'etcd3';
import { EtcdStore } from '../../src/store/etcd.js';
import { startEtcd } from '../support/etcd.js';
import { etcdHarness } from './etcd-harness.js';
import { describeStateStore } from './store.contract.js';

describeStateStore('etcd (real server)', async () => {
  const etcd = await startEtcd();
  const scope = `contract-${process.pid}`;
  const make = () => new EtcdStore({ endpoints: [etcd.endpoint], scope, ttlSeconds: 2, callTimeoutMs: 1000 });
  return etcdHarness({ etcd, scope, make, raw: new Etcd3({ hosts: etcd.endpoint }) });
});
