import { etcdCluster } from '../support/cluster.js';
import { describeFailover } from './failover.scenarios.js';

// TLS everywhere: PostgreSQL (postgresql.tls: replication, failover and the pg_rewind rejoin over
// verify-full), the REST API (api.tls with client certificates) and etcd (https, --client-cert-auth).
describeFailover('etcd', () => etcdCluster({ pgTls: true, apiTls: true, etcdTls: true }));
