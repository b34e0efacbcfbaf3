import { etcdCluster } from '../support/cluster.js';
import { describeFailover } from './failover.scenarios.js';

// PostgreSQL with TLS everywhere (postgresql.tls): replication, failover and the pg_rewind rejoin run over verify-full.
describeFailover('etcd', () => etcdCluster({ pgTls: true }));
