/**
 * The peer of the floating-address scenarios: keepalived as the field report sets it up (see
 * peers/keepalived/README.md) in front of a plain PostgreSQL primary and streaming standby, on the
 * lab's hosts, with the same checker writing through the address. One fault, then it watches for
 * OBSERVE_MS: did the address move, did the database behind it take writes, and when.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_BIN_DIR } from '../../src/config/schema.js';
import { readPostmasterPid } from '../../src/postgres/ctl.js';
import { waitFor } from '../../src/util/deadline.js';
import { LAB_VIP } from './cluster.js';
import { NetLab, ns } from './netlab.js';
import { emptyRecord, sampleVip, startChecker } from './observers.js';

const PEERS = resolve(import.meta.dirname, '../../../test/lab/peers/keepalived');
/** How long the peer gets to put writes back through the address after the fault. */
export const OBSERVE_MS = 60_000;
const HOSTS = ['db1', 'db2'];

export interface PeerOutcome {
  /** The hosts that answered on the address at the end (db2 alone: it moved). */
  readonly holders: readonly string[];
  /** Seconds from the fault to the first write through the address on a new connection; null: none. */
  readonly firstWriteS: number | null;
  /** The database answering on the address at the end accepted writes. */
  readonly writableBehind: boolean;
  readonly splitBrainSamples: number;
  /** What the health checks printed (the notify_down runs). */
  readonly checks: string;
}

export async function keepalivedFault(fault: 'postmaster_kill' | 'power_loss'): Promise<PeerOutcome> {
  const lab = NetLab.create({ client: 100, db1: 11, db2: 12 });
  const dir = mkdtempSync(join(tmpdir(), 'pgwlab-ka-'));
  chmodSync(dir, 0o755);
  const procs: ChildProcess[] = [];
  let stopSampler = async () => {};
  const password = `ka-${process.pid}-${Date.now()}`;
  lab.runEnv = { PGPASSWORD: password, PGCONNECT_TIMEOUT: '2' };
  const data = (h: string) => join(dir, h, 'data');
  const logOf = (name: string) => join(dir, `${name}.out`);
  const spawnIn = (host: string, name: string, cmd: string, args: string[], env: Record<string, string> = {}) => {
    const out = openSync(logOf(name), 'a');
    procs.push(lab.spawn(host, cmd, args, { stdio: ['ignore', out, out], env: { ...process.env, ...env } }));
    closeSync(out);
  };
  const asPostgres = async (host: string, bin: string, args: string[]) => {
    const r = await lab.run(host, 'runuser', ['-u', 'postgres', '--', join(DEFAULT_BIN_DIR, bin), ...args], 120_000);
    if (r.code !== 0) throw new Error(`${host}: ${bin} ${args.join(' ')}: ${r.stderr.trim()}`);
  };
  try {
    for (const h of HOSTS) mkdirSync(join(dir, h), { mode: 0o700 });
    const pwfile = join(dir, 'db1', 'pw');
    writeFileSync(pwfile, password, { mode: 0o600 });
    execFileSync('chown', ['-R', 'postgres:postgres', join(dir, 'db1'), join(dir, 'db2')]);
    await asPostgres('db1', 'initdb', ['-D', data('db1'), '-U', 'postgres', `--pwfile=${pwfile}`, '-A', 'scram-sha-256']);
    rmSync(pwfile);
    appendFileSync(join(data('db1'), 'pg_hba.conf'), 'host all all 198.18.0.0/24 scram-sha-256\nhost replication all 198.18.0.0/24 scram-sha-256\n');
    const conf = (h: string) =>
      `listen_addresses = '*'\nport = 5432\nunix_socket_directories = '${join(dir, h)}'\nshared_buffers = 32MB\nmax_connections = 40\nwal_level = replica\nhot_standby = on\n`;
    appendFileSync(join(data('db1'), 'postgresql.conf'), conf('db1'));
    await asPostgres('db1', 'pg_ctl', ['-D', data('db1'), '-l', join(dir, 'db1', 'postgresql.log'), '-w', 'start']);
    await asPostgres('db2', 'pg_basebackup', ['-h', lab.addr('db1'), '-U', 'postgres', '-D', data('db2'), '-R', '-X', 'stream', '-c', 'fast']);
    appendFileSync(join(data('db2'), 'postgresql.conf'), conf('db2'));
    await asPostgres('db2', 'pg_ctl', ['-D', data('db2'), '-l', join(dir, 'db2', 'postgresql.log'), '-w', 'start']);

    // db1 first: with both BACKUP and nopreempt, the first to time out becomes MASTER.
    const keepalived = (h: string) =>
      spawnIn(h, `keepalived-${h}`, 'keepalived', [
        '-n',
        '-l',
        '-D',
        '-f',
        join(PEERS, `keepalived-${h}.conf`),
        '-p',
        join(dir, `keepalived-${h}.pid`),
        '-r',
        join(dir, `vrrp-${h}.pid`),
      ]);
    keepalived('db1');
    await waitFor(`keepalived on db1 to take ${LAB_VIP}`, () => lab.holds('db1', LAB_VIP), { timeoutMs: 20_000, intervalMs: 200 });
    keepalived('db2');
    const samples: { at: number; holders: string[] }[] = [];
    stopSampler = sampleVip(lab, HOSTS, LAB_VIP, samples);
    const rec = emptyRecord();
    procs.push(
      await startChecker(lab, { endpoints: HOSTS.map((h) => ({ name: h, host: lab.addr(h), port: 5432 })), password, vip: { name: 'vip', host: LAB_VIP, port: 5432 } }, rec),
    );
    const env = { KA_DIR: dir, PGBIN: DEFAULT_BIN_DIR, VIP: LAB_VIP, PGPASSWORD: password, DB2_NETNS: ns('db2') };
    const check = (h: string, args: string[]) => spawnIn(h, `healthchecker-${h}`, join(PEERS, 'healthchecker.sh'), args, env);
    check('db1', ['6', '10', '1', '3', join(PEERS, 'failoverdb-db1.sh'), join(PEERS, 'tcp-check.sh'), lab.addr('db1'), '5432']);
    check('db2', ['6', '10', '1', '1', join(PEERS, 'failoverdb-db2.sh'), join(PEERS, 'check.sh')]);

    const t0 = Date.now();
    if (fault === 'postmaster_kill') process.kill(readPostmasterPid(data('db1'))!, 'SIGKILL');
    else lab.powerOff('db1');
    const first = await waitFor('a write through the address on a connection opened after the fault', () => rec.vipAcks.find((a) => a.conn > t0), {
      timeoutMs: OBSERVE_MS,
      intervalMs: 100,
    }).catch(() => null);
    const last = samples.at(-1)?.holders ?? [];
    const writableNow = rec.writable.at(-1)?.nodes ?? [];
    return {
      holders: last,
      firstWriteS: first ? Math.round((first.at - t0) / 100) / 10 : null,
      writableBehind: last.length === 1 && writableNow.includes(last[0]!),
      splitBrainSamples: rec.splits.length,
      checks: HOSTS.map((h) => logOf(`healthchecker-${h}`))
        .filter(existsSync)
        .map((f) => readFileSync(f, 'utf8').trim())
        .filter(Boolean)
        .join('\n'),
    };
  } finally {
    await stopSampler();
    for (const p of procs) p.kill('SIGKILL');
    lab.destroy();
    if (process.env.PGW_KEEP_TEST_DIRS) console.log(`  kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
