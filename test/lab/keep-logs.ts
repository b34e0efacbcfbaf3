/**
 * A failed lab run keeps what its hosts logged (the lab directory goes with the lab) for a
 * post-mortem: agent, guard and PostgreSQL logs, the node files, and what fills each data disk
 * (no log says that): its largest entries and the WAL segments on it.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../../src/util/errors.js';
import type { LabCluster } from './cluster.js';

export function keepLogs(c: Pick<LabCluster, 'dir' | 'db'>, to: string): void {
  const wanted = (src: string) => !src.includes('/disk') && !/\/etcd\d(\/|$)/.test(src) && !src.includes('/secrets') && !src.endsWith('.sock');
  try {
    cpSync(c.dir, to, { recursive: true, filter: wanted });
    const disks = c.db.map((h) => join(c.dir, h, 'disk')).filter(existsSync);
    const usage = disks.map(
      (d) => execFileSync('du', ['-xm', '--max-depth=3', d], { encoding: 'utf8' }) + execFileSync('ls', ['-l', join(d, 'data', 'pg_wal')], { encoding: 'utf8' }),
    );
    writeFileSync(join(to, 'disk-usage.txt'), usage.join('\n'));
    console.log(`logs of the failed run: ${to}`);
  } catch (err) {
    console.log(`could not keep the logs: ${errorMessage(err)}`);
  }
}
