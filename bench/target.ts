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
  /** A signal to the node's HA process alone (kill -9, SIGSTOP, SIGCONT), PostgreSQL left as it is. */
  signalAgent(name: string, signal: NodeJS.Signals): void;
  /** Stops (true) or resumes (false) every process of the node's PostgreSQL. */
  freezePostgres(name: string, on: boolean): void;
  /** The node's HA processes (not PostgreSQL's): Patroni's one; pgwarden's agent and its lease guard. */
  haPids(name: string): number[];
  stop(): Promise<void>;
}
