/**
 * Every process of one PostgreSQL instance, found in /proc: a process runs the postgres binary and
 * its working directory is the data directory (the postmaster chdirs there and every child
 * inherits it). Neither the postmaster's process group nor its children list is enough: backends
 * call setsid(), and once the postmaster is gone they are nobody's children. Orphaned backends can
 * still commit on open connections, so a crash, a fence or a host-crash test kills them all.
 */
import { readdirSync, readlinkSync, realpathSync } from 'node:fs';

/** Where an instance lives and what it runs: `binary` is the postgres executable. */
export interface InstanceId {
  readonly dataDir: string;
  readonly binary: string;
}

const real = (path: string): string | null => {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
};

const link = (path: string): string | null => {
  try {
    return readlinkSync(path);
  } catch {
    return null; // gone, or not ours to read
  }
};

/** The pids of every live process of the instance (the postmaster included, if alive). */
export function instancePids(id: InstanceId): number[] {
  const dir = real(id.dataDir);
  const exe = real(id.binary);
  if (dir === null || exe === null) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (link(`/proc/${pid}/cwd`) === dir && link(`/proc/${pid}/exe`) === exe) pids.push(pid);
  }
  return pids;
}

/**
 * SIGKILL to every process of the instance, until none is left (a process forked while we were
 * scanning is caught by the next round). Returns how many were killed.
 */
export function killInstance(id: InstanceId): number {
  const killed = new Set<number>();
  for (let round = 0; round < 10; round++) {
    const pids = instancePids(id);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
      } catch {
        // exited meanwhile
      }
    }
  }
  return killed.size;
}
