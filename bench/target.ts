/** What the failover benchmark needs of a cluster, pgwarden's or a peer's. */
import { join } from 'node:path';
import { DEFAULT_BIN_DIR } from '../src/config/schema.js';
import { instancePids } from '../src/postgres/instance-procs.js';
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
  stop(): Promise<void>;
}

/** SIGSTOP/SIGCONT to every process of the instance in `dataDir`. */
export function freezeInstance(dataDir: string, on: boolean): void {
  for (const pid of instancePids({ dataDir, binary: join(DEFAULT_BIN_DIR, 'postgres') })) process.kill(pid, on ? 'SIGSTOP' : 'SIGCONT');
}
