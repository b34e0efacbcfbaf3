/**
 * Every process of one PostgreSQL instance. Neither the postmaster's process group nor its children
 * list is enough: backends call setsid(), and once the postmaster is gone they are nobody's
 * children. Orphaned backends can still commit on open connections, so a crash, a fence or a
 * host-crash test kills them all. Two ways to find them, used together:
 * - a cgroup v2 per instance, where this process may create one (root, a writable cgroup2 mount):
 *   the lease guard starts the postmaster inside it, every child inherits it, and `cgroup.kill`
 *   kills them all at once, forks in flight included;
 * - /proc: a process runs the postgres binary and its working directory is the data directory
 *   (the postmaster chdirs there and every child inherits it). This finds an instance started
 *   any other way, and is all there is without cgroups.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

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

let cgroup2: string | null | undefined;
/** Where the cgroup v2 hierarchy is mounted (from /proc/self/mountinfo), or null. */
function cgroup2Root(): string | null {
  if (cgroup2 !== undefined) return cgroup2;
  try {
    const line = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .find((l) => l.split(' - ')[1]?.startsWith('cgroup2 '));
    cgroup2 = line?.split(' ')[4] ?? null;
  } catch {
    cgroup2 = null;
  }
  return cgroup2;
}

/** The instance's cgroup path (which may not exist): one per data directory, under pgwarden/. */
export function instanceCgroup(dataDir: string): string | null {
  const root = cgroup2Root();
  if (root === null) return null;
  const dir = real(dataDir) ?? resolve(dataDir);
  return join(root, 'pgwarden', `pg-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`);
}

/** Creates the instance's cgroup when this process may; null when it cannot (not root, no cgroup2). */
export function ensureInstanceCgroup(dataDir: string): string | null {
  const cg = instanceCgroup(dataDir);
  if (cg === null || process.getuid?.() !== 0) return null;
  try {
    mkdirSync(cg, { recursive: true });
    return existsSync(join(cg, 'cgroup.procs')) ? cg : null;
  } catch {
    return null;
  }
}

/** Removes the instance's cgroup once it is empty (the kernel refuses otherwise), and pgwarden/ after the last one. */
export function removeInstanceCgroup(dataDir: string): void {
  const cg = instanceCgroup(dataDir);
  if (cg === null) return;
  for (const dir of [cg, dirname(cg)]) {
    try {
      rmdirSync(dir);
    } catch {
      return; // absent, or not empty yet
    }
  }
}

function cgroupPids(cg: string | null): number[] {
  if (cg === null) return [];
  try {
    return readFileSync(join(cg, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Whether `pid` runs the instance's binary in its data directory. postmaster.pid is a file the
 * postgres OS user can write: a pid read from it is signalled only after this check, so a root
 * agent cannot be steered into signalling another process.
 */
export function runsInstance(pid: number, id: InstanceId): boolean {
  const dir = real(id.dataDir);
  const exe = real(id.binary);
  return dir !== null && exe !== null && link(`/proc/${pid}/cwd`) === dir && link(`/proc/${pid}/exe`) === exe;
}

/** The pids of every live process of the instance (the postmaster included, if alive). */
export function instancePids(id: InstanceId): number[] {
  const pids = new Set(cgroupPids(instanceCgroup(id.dataDir)));
  const dir = real(id.dataDir);
  const exe = real(id.binary);
  if (dir === null || exe === null) return [...pids];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (link(`/proc/${pid}/cwd`) === dir && link(`/proc/${pid}/exe`) === exe) pids.add(pid);
  }
  return [...pids];
}

/**
 * SIGKILL to every process of the instance: the whole cgroup at once when there is one, then
 * until the /proc scan finds none (a process forked while we were scanning is caught by the next
 * round). Returns how many were killed.
 */
export function killInstance(id: InstanceId): number {
  const killed = new Set<number>();
  const cg = instanceCgroup(id.dataDir);
  const inCgroup = cgroupPids(cg);
  if (cg !== null && inCgroup.length > 0) {
    try {
      writeFileSync(join(cg, 'cgroup.kill'), '1');
      inCgroup.forEach((p) => killed.add(p));
    } catch {
      // no cgroup.kill (a kernel before 5.14): the signals below do it
    }
  }
  for (let round = 0; round < 10; round++) {
    const pids = instancePids(id).filter((p) => !killed.has(p));
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
