/**
 * Running PostgreSQL programs as the OS user: one-shot commands (initdb, pg_basebackup, pg_rewind,
 * pg_controldata), and what a postmaster leaves on disk. The postmaster itself is started by the
 * lease guard (guard.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError } from '../util/errors.js';
import { spawnIdentity, type OsUser } from './os-user.js';

export interface RunOptions {
  env?: Record<string, string>;
  signal?: AbortSignal;
  /** Called with every line the program prints (for progress). */
  onLine?: (line: string) => void;
}

/** Runs a program to completion; rejects with CommandError (carrying the output tail) on failure. */
export function run(user: OsUser, file: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      ...spawnIdentity(user),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', HOME: user.home, ...opts.env },
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: opts.signal,
    });
    let out = '';
    let partial = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      out = (out + text).slice(-64 * 1024);
      if (!opts.onLine) return;
      const lines = (partial + text).split(/\r|\n/);
      partial = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) opts.onLine(l);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => reject(new CommandError(`${file.split('/').pop()}`, null, err.message)));
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new CommandError(`${file.split('/').pop()} ${args[0] ?? ''}`.trim(), code, out));
    });
  });
}

/** The postmaster's pid from postmaster.pid, or null. */
export function readPostmasterPid(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function hasPgVersion(dataDir: string): boolean {
  return existsSync(join(dataDir, 'PG_VERSION'));
}
