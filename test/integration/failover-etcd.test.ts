import { etcdCluster } from '../support/cluster.js';
import { describeFailover } from './failover.scenarios.js';

describeFailover('etcd', () => etcdCluster());
