/**
 * The agent's end of the lease guard (guard.ts): finds the guard of this data directory through its
 * socket, or spawns one, and tells it the lease and when to start the postmaster. A restarted agent
 * re-attaches to the guard that kept running, and with it to the running PostgreSQL.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../util/log.js';
import { waitFor } from '../util/deadline.js';
import { lineReader, parseFromGuard, type FromGuard, type GuardFence, type GuardSpec, type ToGuard } from './guard-protocol.js';

const GUARD_SCRIPT = fileURLToPath(new URL('./guard.js', import.meta.url));
/** The guard does little: its heap is capped, so it can never grow. */
const GUARD_NODE_FLAGS = ['--max-old-space-size=16'];
/** How long a guard may take to answer a new connection, and a start. */
const HELLO_TIMEOUT_MS = 2000;
const START_TIMEOUT_MS = 10_000;
/** sun_path holds 108 bytes with its terminating NUL. */
const MAX_SOCKET_PATH = 107;

export interface GuardLinkEvents {
  /** The postmaster exited, or the guard itself is gone (and PostgreSQL with it). */
  exit: [pid: number | null];
  /** The guard killed the instance on its own: the lease ran out. */
  fenced: [GuardFence];
}

export class GuardLink extends EventEmitter<GuardLinkEvents> {
  private sock: Socket | null = null;
  private attaching: Promise<Socket> | null = null;
  private replies: ((m: FromGuard) => void)[] = [];

  constructor(
    private readonly spec: GuardSpec,
    private readonly log: Logger,
  ) {
    super();
    if (Buffer.byteLength(spec.socket) > MAX_SOCKET_PATH) throw new Error(`run_dir: the lease guard's socket path ${spec.socket} is longer than ${MAX_SOCKET_PATH} bytes`);
  }

  /** The lease is valid until `untilMs` (CLOCK_MONOTONIC, margin already taken off). */
  lease(untilMs: number): void {
    this.post({ op: 'lease', untilMs });
  }

  disarm(): void {
    this.post({ op: 'disarm' });
  }

  /** Has the guard spawn the postmaster; resolves with its pid. */
  async start(standby: boolean): Promise<number> {
    const sock = await this.attach();
    const reply = new Promise<FromGuard>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the lease guard did not start PostgreSQL within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      this.replies.push((m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
    sock.write(`${JSON.stringify({ op: 'start', standby } satisfies ToGuard)}\n`);
    const m = await reply;
    if (m.op === 'started') return m.pid;
    throw new Error(`the lease guard could not start PostgreSQL: ${m.op === 'start_failed' ? m.error : m.op}`);
  }

  /** Connects to the guard (spawning it when none answers); idempotent. */
  attach(): Promise<Socket> {
    if (this.sock && !this.sock.destroyed) return Promise.resolve(this.sock);
    this.attaching ??= this.connectOrSpawn().finally(() => {
      this.attaching = null;
    });
    return this.attaching;
  }

  /** Lets go of the guard; it keeps guarding (and exits once nothing of the instance runs). */
  detach(): void {
    this.sock?.destroy();
    this.sock = null;
  }

  private post(m: ToGuard): void {
    this.attach().then(
      (sock) => sock.write(`${JSON.stringify(m)}\n`),
      (err: Error) => this.log.error({ err: err.message }, 'cannot reach the lease guard'),
    );
  }

  private async connectOrSpawn(): Promise<Socket> {
    const existing = await this.connect().catch(() => null);
    if (existing) return existing;
    const guard = spawn(process.execPath, [...GUARD_NODE_FLAGS, GUARD_SCRIPT, JSON.stringify(this.spec)], { detached: true, stdio: 'ignore' });
    guard.on('error', (err) => this.log.error({ err: err.message }, 'cannot spawn the lease guard'));
    guard.unref();
    this.log.info({ pid: guard.pid }, 'lease guard started');
    return waitFor('the lease guard to answer on its socket', () => this.connect(), { timeoutMs: 5000, intervalMs: 20 });
  }

  /** One connection attempt: resolves once the guard said hello. */
  private connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(this.spec.socket);
      const timer = setTimeout(() => fail(new Error(`the lease guard on ${this.spec.socket} did not answer within ${HELLO_TIMEOUT_MS} ms`)), HELLO_TIMEOUT_MS);
      let hello = false;
      const fail = (err: Error) => {
        clearTimeout(timer);
        sock.destroy();
        reject(err);
      };
      sock.on('error', (err) => (hello ? undefined : fail(err)));
      sock.on(
        'data',
        lineReader(
          (line) => {
            const m = parseFromGuard(line);
            if (m === null) return void sock.destroy();
            if (m.op === 'hello' && !hello) {
              hello = true;
              clearTimeout(timer);
              this.sock = sock;
              this.log.info({ guard: m.pid, postmaster: m.postmaster, armed: m.armedUntilMs !== null }, 'attached to the lease guard');
              for (const f of m.fences) this.emit('fenced', f);
              resolve(sock);
            } else this.onMessage(m);
          },
          () => sock.destroy(),
        ),
      );
      sock.on('close', () => {
        if (!hello) return fail(new Error('the lease guard closed the connection'));
        if (this.sock !== sock) return;
        this.sock = null;
        for (const r of this.replies.splice(0)) r({ op: 'start_failed', error: 'the lease guard went away' });
        this.log.warn('lost the lease guard (PostgreSQL dies with it)');
        this.emit('exit', null);
      });
    });
  }

  private onMessage(m: FromGuard): void {
    if (m.op === 'started' || m.op === 'start_failed') this.replies.shift()?.(m);
    else if (m.op === 'exit') this.emit('exit', m.pid);
    else if (m.op === 'fenced') this.emit('fenced', m.fence);
  }
}
