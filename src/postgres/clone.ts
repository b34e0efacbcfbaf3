/**
 * Cloning a standby with pg_basebackup (WAL streamed alongside, the member's replication slot
 * used so no WAL is recycled between the backup and the standby's first connection; the copy waits
 * until the source has created that slot). The old data
 * directory, if any, is moved aside and deleted only after the new one is complete, unless it is
 * known to be unusable: then it goes first, so the copy does not need room for two.
 */
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import pg from 'pg';
import { waitFor } from '../util/deadline.js';
import { run } from './ctl.js';
import { libpqTls, nodePgTls, type PgTls } from './tls.js';
import { conninfo, type Upstream } from './conf.js';
import { mkdirOwned, type OsUser } from './os-user.js';

export interface CloneProgress {
  readonly doneKb: number;
  readonly totalKb: number;
}

export interface CloneOptions {
  user: OsUser;
  binDir: string;
  dataDir: string;
  from: Upstream;
  replicationUser: string;
  replicationPassword: string;
  passfile: string;
  tls: PgTls | null;
  slot: string | null;
  onProgress?: (p: CloneProgress) => void;
  signal?: AbortSignal;
  /** Keep the old directory until the copy is complete (false: it cannot start, delete it first). */
  keepOld: boolean;
}

/** pg_basebackup -P prints "1234/56789 kB (2%), 0/1 tablespace". */
export function parseProgress(line: string): CloneProgress | null {
  const m = /(\d+)\/(\d+) kB/.exec(line);
  return m ? { doneKb: Number(m[1]), totalKb: Number(m[2]) } : null;
}

/** How long the source may take to create the new member's slot (its agent does so every loop). */
const SLOT_WAIT_MS = 30_000;

/** Whether `slot` exists on the source, asked over a replication connection (READ_REPLICATION_SLOT). */
async function hasSlot(o: CloneOptions, slot: string): Promise<boolean> {
  const client = new pg.Client({
    host: o.from.host,
    port: o.from.port,
    user: o.replicationUser,
    password: o.replicationPassword,
    connectionTimeoutMillis: 5000,
    replication: 'true',
    ...nodePgTls(o.tls),
  } as pg.ClientConfig);
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ slot_type: string | null }>(`READ_REPLICATION_SLOT ${slot}`);
    return rows[0]?.slot_type === 'physical';
  } finally {
    await client.end().catch(() => {});
  }
}

export async function clone(o: CloneOptions): Promise<void> {
  const slot = o.slot;
  if (slot)
    await waitFor(`replication slot ${slot} on ${o.from.name}`, () => hasSlot(o, slot), { timeoutMs: SLOT_WAIT_MS, intervalMs: 100, ...(o.signal ? { signal: o.signal } : {}) });
  // A copy set aside by a clone that was interrupted (the agent killed) is nobody's any more.
  const stale = `${basename(o.dataDir)}.old-`;
  for (const n of readdirSync(dirname(o.dataDir)).filter((f) => f.startsWith(stale))) rmSync(join(dirname(o.dataDir), n), { recursive: true, force: true });
  const aside = o.keepOld && existsSync(o.dataDir) && readdirSync(o.dataDir).length > 0 ? `${o.dataDir}.old-${Date.now()}` : null;
  if (aside) renameSync(o.dataDir, aside);
  rmSync(o.dataDir, { recursive: true, force: true });
  mkdirOwned(o.user, o.dataDir);
  const args = [
    '-D',
    o.dataDir,
    '-d',
    conninfo({ host: o.from.host, port: o.from.port, user: o.replicationUser, passfile: o.passfile, connect_timeout: 5, ...libpqTls(o.tls) }),
    '-X',
    'stream',
    '-c',
    'fast',
    '-P',
    '--no-manifest',
    ...(o.slot ? ['-S', o.slot] : []),
  ];
  try {
    await run(o.user, join(o.binDir, 'pg_basebackup'), args, {
      signal: o.signal,
      onLine: (line) => {
        const p = parseProgress(line);
        if (p) o.onProgress?.(p);
      },
    });
  } catch (err) {
    // Leave the node as it was: the half-copied directory goes, the old one comes back.
    rmSync(o.dataDir, { recursive: true, force: true });
    if (aside) renameSync(aside, o.dataDir);
    throw err;
  }
  if (aside) rmSync(aside, { recursive: true, force: true });
}
