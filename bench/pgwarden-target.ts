/**
 * pgwarden as a benchmark target: three `pgwarden agent` processes on a real etcd (the test
 * harness's cluster), with the failover benchmark's faults and the footprint benchmark's pids.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { etcdCluster, freezeInstance } from '../test/support/cluster.js';
import type { BenchTarget } from './target.js';

export async function pgwardenTarget(
  timing: { loop_wait: number; ttl: number; retry_timeout: number; primary_start_timeout: number },
  logLevel: 'debug' | 'info' = 'debug',
): Promise<BenchTarget> {
  const c = await etcdCluster({ timing, logLevel });
  return {
    name: 'pgwarden',
    endpoints: c.endpoints,
    cred: c.cred,
    waitStable: async (ms) => void (await c.waitStable(ms)),
    leader: async () => (await c.report()).leader ?? Promise.reject(new Error('no leader')),
    killPostmaster: (n) => void c.killPostmaster(n),
    crashHost: (n) => c.crashHost(n),
    restartHost: (n) => c.restartHost(n),
    signalAgent: (n, sig) => c.signalAgent!(n, sig),
    freezePostgres: (n, on) => freezeInstance(c.dataDir(n), on),
    haPids: (n) => [c.agentPid!(n), ...guardPids(c.dataDir(n))].filter((p): p is number => p !== null),
    stop: () => c.stop(),
  };
}

/** The lease guard of a data directory: the process running guard.js whose spec names that directory. */
function guardPids(dataDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes('guard.js') && cmd.includes(JSON.stringify(dataDir).slice(1, -1))) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}
