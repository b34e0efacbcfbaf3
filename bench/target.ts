/** What the failover benchmark needs of a cluster, pgwarden's or a peer's. */
import type { Credentials, Endpoint } from '../test/support/workload.js';

export interface BenchTarget {
  readonly name: string;
  readonly endpoints: readonly Endpoint[];
  readonly cred: Credentials;
  waitStable(timeoutMs: number): Promise<void>;
  leader(): Promise<string>;
  killPostmaster(name: string): void;
  crashHost(name: string): Promise<void>;
  restartHost(name: string): Promise<void>;
  stop(): Promise<void>;
}
