/**
 * pg_rewind of a diverged old primary against the new leader. PostgreSQL 13+ runs crash recovery
 * in single-user mode first when the target was not shut down cleanly (a fenced primary usually
 * was stopped with `immediate`). Failure is reported, never papered over: the caller re-clones.
 */
import { join } from 'node:path';
import { run } from './ctl.js';
import { conninfo, type Upstream } from './conf.js';
import type { OsUser } from './os-user.js';
import { libpqTls, type PgTls } from './tls.js';

export interface RewindOptions {
  user: OsUser;
  binDir: string;
  dataDir: string;
  from: Upstream;
  /** The role to log in as on the source: the rewind role, or the superuser. */
  role: string;
  passfile: string;
  tls: PgTls | null;
  signal?: AbortSignal;
}

/** Returns pg_rewind's verdict: 'rewound' or 'not_needed'. Throws CommandError on failure. */
export async function rewind(o: RewindOptions): Promise<'rewound' | 'not_needed'> {
  const out = await run(
    o.user,
    join(o.binDir, 'pg_rewind'),
    [
      '-D',
      o.dataDir,
      '--source-server',
      conninfo({ host: o.from.host, port: o.from.port, user: o.role, passfile: o.passfile, dbname: 'postgres', connect_timeout: 5, ...libpqTls(o.tls) }),
      '--progress',
    ],
    { signal: o.signal },
  );
  return /no rewind required/i.test(out) ? 'not_needed' : 'rewound';
}
