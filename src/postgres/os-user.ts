/**
 * PostgreSQL refuses to run as root, and so do we: when the agent runs as root, every PostgreSQL
 * program is spawned as an unprivileged OS user and every file it must read is chowned to it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';

export interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  /** True when we must switch to this user for PostgreSQL programs (we are root). */
  readonly switchTo: boolean;
}

export function resolveOsUser(configured?: string): OsUser {
  const me = userInfo();
  const isRoot = process.getuid?.() === 0;
  const name = configured ?? (isRoot ? 'postgres' : me.username);
  if (name === me.username && !isRoot) return { name, uid: me.uid, gid: me.gid, home: me.homedir, switchTo: false };
  if (name === 'root') throw new Error('os_user: PostgreSQL must not run as root; name an unprivileged user');
  if (!isRoot) throw new Error(`os_user: running as ${me.username}, cannot switch to ${name} (only root can)`);
  const [uid, gid, home] = execFileSync('getent', ['passwd', name], { encoding: 'utf8' })
    .trim()
    .split(':')
    .slice(2, 6)
    .filter((_, i) => i !== 2);
  if (uid === undefined) throw new Error(`os_user: no such user ${name}`);
  return { name, uid: Number(uid), gid: Number(gid), home: home ?? '/', switchTo: true };
}

/** Spawn options that run a child as the OS user. */
export function spawnIdentity(user: OsUser): { uid?: number; gid?: number } {
  return user.switchTo ? { uid: user.uid, gid: user.gid } : {};
}

/**
 * Throws, naming the directory, when the OS user cannot reach one of `paths`: a directory above it
 * is not searchable by that user (under /root, or a mktemp directory): PostgreSQL would fail at
 * every start, and the HA loop would retry forever.
 */
export function assertReachable(user: OsUser, ...paths: string[]): void {
  if (!user.switchTo) return;
  // Each directory once, parents first: paths often share all their ancestors (data and run dirs).
  const seen = new Set<string>();
  for (const path of paths) {
    const chain: string[] = [];
    for (let d = resolve(path); !seen.has(d); d = dirname(d)) {
      chain.unshift(d);
      seen.add(d);
      if (d === dirname(d)) break;
    }
    checkSearchable(user, path, chain);
  }
}

function checkSearchable(user: OsUser, path: string, chain: readonly string[]): void {
  for (const d of chain) {
    // What does not exist yet is created by us and handed to the user.
    if (!existsSync(d)) return;
    // As the user with its groups (as the lease guard starts PostgreSQL), so no false refusal.
    if (spawnSync('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', 'test', '-x', d]).status === 0) continue;
    const st = statSync(d);
    throw new Error(
      `${user.name}, who runs PostgreSQL, cannot reach ${path}: ${d} is not searchable by it (mode ${(st.mode & 0o777).toString(8)}, owner uid ${st.uid}); use a directory elsewhere, or allow it: chmod o+x ${d}`,
    );
  }
}

export function chownTo(user: OsUser, path: string): void {
  if (user.switchTo) chownSync(path, user.uid, user.gid);
}

/** mkdir -p; every directory it creates (not only the leaf) goes to the OS user. */
export function mkdirOwned(user: OsUser, path: string, mode = 0o700): void {
  const first = mkdirSync(path, { recursive: true, mode });
  if (first === undefined) return chownTo(user, path);
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    chownTo(user, dir);
    if (dir === resolve(first) || dir === dirname(dir)) break;
  }
}

/** Writes a file the OS user must read (config files, pgpass). */
export function writeOwned(user: OsUser, path: string, content: string, mode = 0o600): void {
  writeFileSync(path, content, { mode });
  chownTo(user, path);
}
