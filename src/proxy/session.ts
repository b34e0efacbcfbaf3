/**
 * One client connection through the proxy. Startup phase: answer SSLRequest with 'S' and run the
 * session over TLS when the proxy has a certificate (else 'N', as for GSSENCRequest), route a CancelRequest to the backend that owns its key, read the
 * StartupMessage and pick a backend (the primary for the read-write port, waiting for one during a
 * failover; a standby by weight for the read-only port). Then relay: bytes are forwarded as they
 * come, with backpressure both ways, while two scanners follow message boundaries to learn the
 * cancel key, the transaction status, and to answer SHOW POOL_NODES locally (only once the
 * backend accepted the login). Authentication is relayed untouched (trust, md5, SCRAM), so the
 * proxy never holds a password. The login (startup packet, TLS handshake, authentication) must
 * end within client_login_timeout. Garbage or an absurd length from the client ends this
 * connection only (08P01): an error message, then the socket is destroyed.
 */
import { connect, type Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Logger } from '../util/log.js';
import { BackendCode, FrontendCode, TxStatus } from './protocol/codes.js';
import { errorResponse, readyForQuery } from './protocol/encode.js';
import { ProtocolError } from './protocol/errors.js';
import { Framer } from './protocol/framer.js';
import { isShowPoolNodes, parseStartupPacket, withStartupDefault } from './protocol/frontend.js';
import { backendKey, readyStatus } from './protocol/backend.js';
import { Scanner } from './protocol/scanner.js';
import { adoptAccepted, forward, onreadOption, type Sink } from './fast-io.js';
import { connectTls, type BackendTls } from './backend-tls.js';
import type { NodeRoute } from './routing.js';

/** PostgreSQL's own limit for a startup packet. */
const MAX_STARTUP = 10_000;
/** Server messages are trusted but bounded by PostgreSQL's 1 GB. */
const MAX_SERVER_MESSAGE = 0x40000000;

export type Port = 'rw' | 'ro';
/** Why a client connection was ended before (or instead of) being relayed. */
export type RefusalReason = 'max_client_conn' | 'max_client_conn_per_address' | 'login_timeout' | 'protocol_error' | 'tls_required' | 'no_backend';

export interface ClientTls {
  readonly context: SecureContext;
  /** A plaintext StartupMessage is refused. */
  readonly required: boolean;
  /** A client certificate chaining to the configured CA is required. */
  readonly verifyClient: boolean;
}

export interface SessionHost {
  readonly maxMessageLength: number;
  /** From accept to the backend's first ReadyForQuery. */
  readonly loginTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** How long a read-write session waits for a primary. */
  readonly failoverWaitMs: number;
  /** TLS for clients that ask for it; null: SSLRequest is refused with 'N'. */
  readonly tls: ClientTls | null;
  /** TLS to PostgreSQL; null: plain. */
  readonly backendTls: BackendTls | null;
  /** Health-checks every backend now (a connection to one just failed). */
  recheck(): Promise<void>;
  /** The backend for a new session; may wait (read-write during a failover). */
  pick(session: Session): Promise<NodeRoute | null>;
  /** SHOW POOL_NODES as protocol bytes (RowDescription … CommandComplete). */
  poolNodes(session: Session): Buffer;
  cancelTarget(pid: number, secret: number): NodeRoute | undefined;
  closed(session: Session): void;
  /** `n` queries were sent to `node` (select_cnt). */
  counted(node: string, n: number): void;
  /** A connection ended before it was relayed, for `reason` (metrics). */
  refusedFor(reason: RefusalReason): void;
  readonly log: Logger;
}

/** Ends a connection: `last` (an error message) flushed if the client reads it within a second, then the socket destroyed. */
export function endWith(socket: Socket, last: Buffer): void {
  const timer = setTimeout(() => socket.destroy(), 1000).unref();
  socket.end(last, () => {
    clearTimeout(timer);
    socket.destroy();
  });
}

export class Session {
  node: NodeRoute | null = null;
  /** Bytes relayed from the client to the backend, and back (GET /metrics). */
  bytesIn = 0;
  bytesOut = 0;
  cancelKey: string | null = null;
  txStatus: number = TxStatus.Idle;
  /** Client address, user, database and application name: sessions that may share a snapshot (ro_affinity). */
  affinity = '';
  application = '';
  /** The backend accepted the login (its first ReadyForQuery). */
  private authenticated = false;
  private encrypted = false;
  private loginTimer: NodeJS.Timeout | null = null;
  /** Replies (ReadyForQuery) the backend still owes: 1 for the startup, 1 per Query, Sync, FunctionCall. */
  private owed = 1;
  /** A switchover drains our primary: end the session as soon as it is idle. */
  private draining = false;
  private client: Socket;
  /** Where the client's bytes go: the startup parser, then the relay. */
  private clientSink: Sink = () => false;
  private backend: Socket | null = null;
  private serverScan: Scanner | null = null;
  private done = false;

  constructor(
    readonly port: Port,
    accepted: Socket,
    private readonly host: SessionHost,
    /** The client's address, for logs and per-address limits. */
    readonly peer = accepted.remoteAddress ?? 'unknown',
  ) {
    this.client = adoptAccepted(accepted, (view) => this.clientSink(view));
  }

  start(): void {
    this.armLoginTimer();
    const framer = new Framer(MAX_STARTUP, true);
    // The framer keeps what it is given: startup bytes are copied out of the read buffer.
    this.clientSink = (view) => {
      try {
        return this.startupMessages(framer, framer.push(Buffer.from(view)));
      } catch (err) {
        this.fail(err);
        return false;
      }
    };
    this.client.setNoDelay(true);
    this.client.on('error', () => this.close());
    this.client.on('close', () => this.close());
  }

  /**
   * Our primary is being switched over: end the session now if it is idle, else right after its
   * transaction ends (the old primary's clean stop cuts what is still open at the drain timeout).
   * The client reconnects and lands on the new primary: the proxy holds no password, so it cannot
   * re-authenticate a session on another server by itself.
   */
  drain(): void {
    this.draining = true;
    this.endIfDrained();
  }

  private endIfDrained(): void {
    if (this.draining && this.owed === 0 && this.txStatus === TxStatus.Idle && (this.serverScan?.atBoundary ?? true)) {
      this.close({ sqlstate: '57P01', message: 'pgwarden: terminating connection: switchover in progress; reconnect to reach the new primary' });
    }
  }

  /**
   * Ends the session. With a reason, the client gets a FATAL error first when that can be put
   * into the stream cleanly (between two server messages).
   */
  close(reason?: { sqlstate: string; message: string }): void {
    if (this.done) return;
    this.done = true;
    if (this.loginTimer) clearTimeout(this.loginTimer);
    const said = reason && (this.serverScan?.atBoundary ?? true);
    // Over TLS, end() sends close_notify first: clients see a clean end, not an unexpected EOF.
    if ((said || this.encrypted) && this.client.writable) endWith(this.client, said ? errorResponse(reason.sqlstate, reason.message) : Buffer.alloc(0));
    else this.client.destroy();
    this.backend?.destroy();
    this.host.closed(this);
  }

  /** Returns whether to read on from the client. */
  private startupMessages(framer: Framer, msgs: ReturnType<Framer['push']>): boolean {
    for (const m of msgs) {
      const packet = parseStartupPacket(m.body);
      if (packet.kind === 'ssl' && this.host.tls) return this.startTls(framer, this.host.tls);
      if (packet.kind === 'ssl' || packet.kind === 'gssenc') {
        this.client.write('N');
        return this.startupMessages(framer, framer.drain());
      }
      if (packet.kind === 'cancel') {
        const target = this.host.cancelTarget(packet.pid, packet.secret);
        if (target) {
          const raw = Buffer.concat([lengthPrefix(m.body.length), m.body]);
          const s = connect(target.port, target.host, () => s.end(raw));
          s.on('error', () => s.destroy());
        }
        this.close();
        return false;
      }
      if (this.host.tls?.required && !this.encrypted) {
        this.host.refusedFor('tls_required');
        this.close({ sqlstate: '28000', message: 'pgwarden: TLS is required here (tls.mode: require): connect with sslmode=require or stricter' });
        return false;
      }
      this.clientSink = () => false;
      this.client.pause();
      framer.startNormalPhase();
      // Read-only port: read-only transactions by default, so that even a node promoted under the
      // session (closed as soon as the proxy sees it) refuses writes from it meanwhile.
      const body = this.port === 'ro' ? withStartupDefault(m.body, packet.params, 'default_transaction_read_only', 'on') : m.body;
      const startup = Buffer.concat([lengthPrefix(body.length), body]);
      const p = packet.params;
      this.application = p.get('application_name') ?? '';
      this.affinity = [this.peer, p.get('user'), p.get('database') ?? p.get('user'), this.application].join('\0');
      if (this.loginTimer) clearTimeout(this.loginTimer);
      void this.connectBackend(startup, framer.takeRemaining(), p.get('user') ?? '');
      return false;
    }
    return true;
  }

  /**
   * Answers 'S' and continues the startup over TLS. Bytes sent behind the SSLRequest, before the
   * handshake, are refused (PostgreSQL does the same: they could be injected by a man in the middle).
   */
  private startTls(framer: Framer, tlsOptions: ClientTls): boolean {
    if (framer.pending > 0) throw new ProtocolError('unencrypted data after SSLRequest');
    this.client.write('S');
    this.client.pause();
    const { context, verifyClient } = tlsOptions;
    const tls = new TLSSocket(this.client, { isServer: true, secureContext: context, requestCert: verifyClient, rejectUnauthorized: verifyClient });
    this.client = tls;
    this.encrypted = true;
    tls.on('data', (chunk: Buffer) => {
      if (!this.clientSink(chunk)) tls.pause();
    });
    tls.on('error', (err) => {
      this.host.log.debug({ err: err.message }, 'TLS handshake or read failed');
      this.close();
    });
    tls.on('close', () => this.close());
    return false;
  }

  /**
   * Connects to the chosen backend. A refused or timed-out connection to the primary means it may
   * be gone: the proxy re-checks health at once and this session waits (up to failover_wait) for
   * the next primary instead of failing; a read-only session tries another reader.
   */
  private async connectBackend(startup: Buffer, early: Buffer, user: string): Promise<void> {
    const deadline = performance.now() + this.host.failoverWaitMs;
    let lastError = '';
    for (let attempt = 0; ; attempt++) {
      const node = await this.host.pick(this);
      if (this.done) return;
      if (!node || performance.now() > deadline || (this.port === 'ro' && attempt >= 3)) {
        const what = this.port === 'rw' ? 'no primary is available (failover in progress or no leader)' : 'no node is available for reads';
        this.host.refusedFor('no_backend');
        return this.close({ sqlstate: '08006', message: `pgwarden: ${what}${lastError ? `; last error: ${lastError}` : ''}` });
      }
      try {
        const backend = await this.open(node, (view) => this.backendSink(view));
        if (this.done) return void backend.destroy();
        this.node = node;
        this.backend = backend;
        this.host.log.debug({ node: node.name, port: this.port, user }, 'session opened');
        return this.relay(backend, startup, early);
      } catch (err) {
        lastError = `${node.name}: ${(err as Error).message}`;
        await this.host.recheck();
      }
    }
  }

  /** Where the backend's bytes go (set by the relay). */
  private backendSink: Sink = () => false;

  private async open(node: NodeRoute, sink: Sink): Promise<Socket> {
    if (this.host.backendTls) {
      // Over TLS the socket's own reads are decrypted for us: no onread buffer of ours.
      const secure = await connectTls(node.host, node.port, this.host.backendTls, this.host.connectTimeoutMs);
      secure.on('data', (chunk: Buffer) => {
        if (!sink(chunk)) secure.pause();
      });
      return secure;
    }
    return new Promise((resolve, reject) => {
      const s = connect({ host: node.host, port: node.port, noDelay: true, timeout: this.host.connectTimeoutMs, onread: onreadOption(sink) });
      s.once('timeout', () => s.destroy(new Error('connect timeout')));
      s.once('error', reject);
      s.once('connect', () => {
        s.setTimeout(0);
        s.off('error', reject);
        resolve(s);
      });
    });
  }

  private relay(backend: Socket, startup: Buffer, early: Buffer): void {
    const client = this.client;
    /** Length of a SHOW POOL_NODES query seen in the current chunk, or false. */
    let intercept: number | false = false;
    let queries = 0;
    const clientScan = new Scanner(
      this.host.maxMessageLength,
      (type, head, at, headLength, length) => {
        if (type === FrontendCode.Query || type === FrontendCode.Execute) queries++;
        if (type === FrontendCode.Query || type === FrontendCode.Sync || type === FrontendCode.FunctionCall) this.owed++;
        // Our own command, when it is a lone simple query between transactions.
        if (type === FrontendCode.Query && this.authenticated && this.txStatus === TxStatus.Idle && isShowPoolNodes(head, at, headLength)) intercept = length;
      },
      64,
    );
    this.serverScan = new Scanner(
      MAX_SERVER_MESSAGE,
      (type, head, at, headLength) => {
        if (type === BackendCode.ReadyForQuery) {
          this.txStatus = readyStatus(head, at, headLength);
          this.owed--;
          if (!this.authenticated) this.loggedIn();
        } else if (type === BackendCode.BackendKeyData) {
          const key = backendKey(head, at, headLength);
          this.cancelKey = `${key.pid}:${key.secret}`;
        }
      },
      8,
    );

    const fromClient = (chunk: Buffer): boolean => {
      intercept = false;
      queries = 0;
      this.bytesIn += chunk.length;
      try {
        clientScan.feed(chunk);
      } catch (err) {
        this.fail(err);
        return false;
      }
      if (intercept !== false && chunk.length === 1 + intercept && this.serverScan!.atBoundary) {
        this.owed--; // answered here, not by the backend
        client.write(Buffer.concat([this.host.poolNodes(this), readyForQuery(TxStatus.Idle)]));
        return true;
      }
      if (queries) this.host.counted(this.node!.name, queries);
      return forward(client, backend, chunk);
    };
    this.backendSink = (chunk) => {
      this.bytesOut += chunk.length;
      try {
        this.serverScan!.feed(chunk);
      } catch {
        this.close();
        return false;
      }
      const more = forward(backend, client, chunk);
      if (this.draining) this.endIfDrained();
      return more;
    };
    // The backend went away (crash, fencing, shutdown): tell the client plainly when we can.
    const lost = () => this.close({ sqlstate: '08006', message: `pgwarden: the connection to ${this.node?.name ?? 'the server'} was lost` });
    backend.on('close', lost);
    backend.on('error', lost);
    backend.write(startup);
    this.armLoginTimer();
    this.clientSink = fromClient;
    // Bytes the client sent right behind its startup packet (pipelining) go first.
    if (early.length === 0 || fromClient(early)) client.resume();
  }

  /**
   * The client's part of the login is timed: its startup packet (and TLS handshake), then its
   * authentication. Not the wait for a primary in between, which failover_wait bounds.
   */
  private armLoginTimer(): void {
    this.loginTimer = setTimeout(() => {
      this.host.refusedFor('login_timeout');
      this.host.log.warn({ client: this.peer, port: this.port }, 'login not completed within client_login_timeout: connection closed');
      this.close({ sqlstate: '08P01', message: `pgwarden: the login did not complete within client_login_timeout (${this.host.loginTimeoutMs / 1000} s)` });
    }, this.host.loginTimeoutMs);
  }

  private loggedIn(): void {
    this.authenticated = true;
    if (this.loginTimer) clearTimeout(this.loginTimer);
    this.loginTimer = null;
  }

  private fail(err: unknown): void {
    if (err instanceof ProtocolError) {
      this.host.refusedFor('protocol_error');
      this.host.log.warn({ client: this.peer, port: this.port, err: err.message }, 'protocol error from a client: connection closed');
      this.close({ sqlstate: err.sqlstate, message: `pgwarden: ${err.message}` });
    } else {
      this.host.log.warn({ err: String(err) }, 'session failed');
      this.close();
    }
  }
}

function lengthPrefix(bodyLength: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(bodyLength + 4);
  return b;
}
