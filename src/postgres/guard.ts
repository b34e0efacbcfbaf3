/**
 * The lease guard: a small process per node, apart from the agent, that owns the primary's right to
 * run. The agent hands it the lease deadline at every renewal; when a deadline passes with no new
 * one (the agent was killed, frozen, or cut off), the guard kills every process of the instance,
 * and removes the floating address if there is one, before any other node may take the lock. It
 * is the postmaster's parent, and the postmaster is started with PR_SET_PDEATHSIG (util-linux
 * setpriv), so if the guard dies PostgreSQL dies with it.
 *
 * Started by the agent (guard-link.ts) as `node guard.js <spec JSON>`; it outlives the agent, which
 * re-attaches through the socket. Only Node built-ins and a few small modules of ours, to stay small.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { monotonicMs } from '../util/clock.js';
import { removeAddress } from '../util/ip-addr.js';
import { isAlive, readPostmasterPid } from './ctl.js';
import { lineReader, parseToGuard, type FromGuard, type GuardFence, type GuardSpec, type ToGuard } from './guard-protocol.js';
import { ensureInstanceCgroup, instancePids, killInstance, removeInstanceCgroup } from './instance-procs.js';

/** Fences not yet reported to an agent, at most this many (the oldest go first). */
const MAX_PENDING_FENCES = 16;
/** How often an idle guard (no agent, no instance) checks whether it can exit. */
const IDLE_CHECK_MS = 5000;
/** Connections at once: an agent, a restarted one while the old is frozen, a tool; never unbounded. */
const MAX_CONNECTIONS = 4;

const spec = JSON.parse(process.argv[2] ?? '') as GuardSpec;
const instance = { dataDir: spec.dataDir, binary: join(spec.binDir, 'postgres') };
let child: ChildProcess | null = null;
let armedUntil: number | null = null;
let timer: NodeJS.Timeout | null = null;
/** Connected agents (a frozen one stays connected while its successor attaches). */
const agents = new Set<Socket>();
let pending: GuardFence[] = [];
/** A fence still removing the floating address: its record is not in `pending` yet. */
let fencing: Promise<void> | null = null;
/** The watchdog device, open (and so armed) while a lease is. */
let watchdog: number | null = null;

const log = (msg: string) => {
  try {
    appendFileSync(spec.guardLog, `${new Date().toISOString()} ${msg}\n`, { mode: 0o600 });
  } catch {
    // a full disk must not stop the guard from guarding
  }
};

const send = (m: FromGuard) => {
  for (const a of agents) a.write(`${JSON.stringify(m)}\n`);
};

const postmaster = (): number | null => {
  if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) return child.pid;
  const pid = readPostmasterPid(spec.dataDir);
  return pid !== null && isAlive(pid) ? pid : null;
};

/** Every renewal feeds the watchdog; disarming closes it with the magic 'V', which stops it. */
function feedWatchdog(on: boolean): void {
  if (spec.watchdog === null) return;
  try {
    if (on) {
      watchdog ??= openSync(spec.watchdog, 'w');
      writeSync(watchdog, '1');
    } else if (watchdog !== null) {
      writeSync(watchdog, 'V');
      closeSync(watchdog);
      watchdog = null;
    }
  } catch (err) {
    log(`watchdog ${spec.watchdog}: ${(err as Error).message}`);
  }
}

function arm(untilMs: number | null): void {
  armedUntil = untilMs;
  if (timer) clearTimeout(timer);
  timer = untilMs === null ? null : setTimeout(expire, Math.max(0, untilMs - monotonicMs()));
  feedWatchdog(untilMs !== null);
}

/** The deadline passed with no renewal: no process of the instance may run on. */
function expire(): void {
  if (armedUntil === null) return;
  if (monotonicMs() < armedUntil) {
    timer = setTimeout(expire, armedUntil - monotonicMs());
    return;
  }
  // Killed first, the watchdog stopped after: it covers the guard failing to do this.
  const killed = killInstance(instance);
  const atMs = Date.now();
  arm(null);
  fencing = dropVip().then((vip) => {
    fencing = null;
    if (killed === 0 && vip === null) return;
    log(`lease expired with no renewal: killed ${killed} PostgreSQL processes${vip ? `, removed ${vip}` : ''}`);
    const fence = { atMs, killed, vip };
    if (agents.size) send({ op: 'fenced', fence });
    else pending = [...pending, fence].slice(-MAX_PENDING_FENCES);
  });
}

/** The floating address goes with the primary it points to; returns what was removed. */
async function dropVip(): Promise<string | null> {
  if (spec.vip === null) return null;
  try {
    return await removeAddress(spec.vip);
  } catch (err) {
    log(`cannot remove the floating address ${spec.vip.address}: ${(err as Error).message}`);
    return null;
  }
}

function start(standby: boolean): void {
  if (standby) arm(null);
  const running = postmaster();
  if (running !== null) {
    if (child?.pid === running) send({ op: 'started', pid: running });
    else send({ op: 'start_failed', error: `a postmaster not started by this guard already runs (pid ${running})` });
    return;
  }
  const out = openSync(spec.pgLog, 'a', 0o600);
  try {
    // setpriv sets PR_SET_PDEATHSIG and execs postgres: the postmaster is our child, killed if we die.
    // With a cgroup for the instance, a shell (still root) moves itself into it first, and setpriv
    // drops to the OS user (the kernel keeps the death signal across that change of user).
    const cg = ensureInstanceCgroup(spec.dataDir);
    const switchUser = spec.uid !== null && spec.gid !== null;
    const setpriv = [
      'setpriv',
      ...(cg && switchUser ? [`--reuid=${spec.uid}`, `--regid=${spec.gid}`, '--init-groups'] : []),
      '--pdeathsig',
      'KILL',
      '--',
      instance.binary,
      '-D',
      spec.dataDir,
    ];
    const [cmd = 'setpriv', ...args] = cg ? ['sh', '-c', '{ echo $$ > "$0"; } 2>/dev/null; exec "$@"', join(cg, 'cgroup.procs'), ...setpriv] : setpriv;
    const pm = spawn(cmd, args, {
      ...(!cg && switchUser ? { uid: spec.uid ?? undefined, gid: spec.gid ?? undefined } : {}),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', HOME: spec.home },
      cwd: spec.dataDir,
      detached: true,
      stdio: ['ignore', out, out],
    });
    pm.on('error', (err) => send({ op: 'start_failed', error: err.message }));
    if (pm.pid === undefined) return;
    child = pm;
    const pid = pm.pid;
    log(`postmaster ${pid} started (${standby ? 'standby' : 'primary'}${cg ? `, in ${cg}` : ''})`);
    send({ op: 'started', pid });
    pm.on('exit', (code, signal) => {
      if (child === pm) child = null;
      // A crash leaves backends behind (they setsid()) that could still commit: none may outlive it,
      // unless a newer postmaster already runs on the data directory.
      const now = readPostmasterPid(spec.dataDir);
      if (now === null || now === pid || !isAlive(now)) killInstance(instance);
      log(`postmaster ${pid} exited (${signal ?? `code ${code}`})`);
      send({ op: 'exit', pid, code, signal });
      exitIfIdle();
    });
  } finally {
    closeSync(out);
  }
}

function onMessage(m: ToGuard): void {
  if (m.op === 'lease') arm(m.untilMs);
  else if (m.op === 'disarm') arm(null);
  else start(m.standby);
}

/**
 * With no agent attached and nothing of the instance running, there is nothing left to guard; a
 * fence not yet reported keeps the guard waiting for the next agent, so the event is not lost.
 */
function exitIfIdle(): void {
  if (agents.size === 0 && child === null && fencing === null && pending.length === 0 && instancePids(instance).length === 0) {
    log('nothing to guard: exiting');
    removeInstanceCgroup(spec.dataDir);
    process.exit(0);
  }
}

const server = createServer((sock) => {
  if (agents.size >= MAX_CONNECTIONS) return void sock.destroy();
  agents.add(sock);
  sock.on(
    'data',
    lineReader(
      (line) => {
        const m = parseToGuard(line);
        if (m === null) sock.destroy();
        else onMessage(m);
      },
      () => sock.destroy(),
    ),
  );
  sock.on('error', () => sock.destroy());
  sock.on('close', () => agents.delete(sock));
  sock.write(`${JSON.stringify({ op: 'hello', pid: process.pid, postmaster: postmaster(), armedUntilMs: armedUntil, fences: pending } satisfies FromGuard)}\n`);
  pending = [];
});
server.on('error', (err) => {
  log(`cannot listen on ${spec.socket}: ${err.message}`);
  process.exit(1);
});
rmSync(spec.socket, { force: true });
server.listen(spec.socket, () => {
  chmodSync(spec.socket, 0o600);
  log(`guard ${process.pid} listening`);
});
setInterval(exitIfIdle, IDLE_CHECK_MS);
