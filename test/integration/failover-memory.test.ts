import { memoryCluster } from '../support/cluster.js';
import { describeFailover } from './failover.scenarios.js';

describeFailover('memory', () => memoryCluster());
