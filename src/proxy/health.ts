/**
 * The proxy's own health checks: every interval, each backend is asked (over a kept-open
 * connection, under a deadline) whether it is in recovery, where its WAL is and whether it
 * streams. One failed check takes a node out of the pool; the next good one brings it back.
 * Lag is measured within one round: the primary's write position minus each standby's replay.
 */
import pg from 'pg';
import type { Registration } from '../store/types.js';
import { parseLsn } from '../util/lsn.js';
import { tlsClientOptions, type BackendTls } from './backend-tls.js';
import type { Health } from './routing.js';

export interface HealthCredentials {
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

interface Probe {
  readonly ok: boolean;
  readonly role: 'primary' | 'standby' | null;
  readonly streaming: boolean;
  readonly lsn: bigint | null;
}

const SQL = `SELECT pg_is_in_recovery() AS r,
  (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS lsn,
  coalesce((SELECT status = 'streaming' FROM pg_stat_wal_receiver), false) AS streaming`;

const FAILED: Probe = { ok: false, role: null, streaming: false, lsn: null };

export class HealthChecker {
  private readonly clients = new Map<string, pg.Client>();
  private timer: NodeJS.Timeout | null = null;
  private hurrying = false;
  private current = new Map<string, Health>();

  constructor(
    private readonly cred: HealthCredentials,
    private readonly tls: BackendTls | null,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    private readonly targets: () => readonly Registration[],
    private readonly onChange: () => void,
  ) {}

  health(): ReadonlyMap<string, Health> {
    return this.current;
  }

  start(): void {
    const tick = async () => {
      await this.round().catch(() => {});
      if (this.timer !== null) this.timer = setTimeout(tick, this.intervalMs);
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.all([...this.clients.values()].map((c) => c.end().catch(() => {})));
    this.clients.clear();
  }

  /**
   * Rounds every `intervalMs` until `done()` or for `maxMs` at most (one hurry at a time): a new
   * leader is promoting, and writes wait for the first round that sees it as primary.
   */
  async hurry(done: () => boolean, intervalMs: number, maxMs: number): Promise<void> {
    if (this.hurrying || this.timer === null) return;
    this.hurrying = true;
    try {
      const until = performance.now() + maxMs;
      while (!done() && performance.now() < until && this.timer !== null) {
        await this.round().catch(() => {});
        if (!done()) await new Promise((r) => setTimeout(r, intervalMs));
      }
    } finally {
      this.hurrying = false;
    }
  }

  /** One round over every backend; notifies when anything a router cares about changed. */
  async round(): Promise<void> {
    const regs = this.targets();
    const probes = await Promise.all(regs.map(async (r) => ({ r, p: await this.probe(r) })));
    const primaryLsn = probes.find(({ p }) => p.ok && p.role === 'primary')?.p.lsn ?? null;
    const next = new Map<string, Health>();
    probes.forEach(({ r, p }) => {
      const lag = p.ok && p.role === 'standby' && p.lsn !== null && primaryLsn !== null ? Math.max(0, Number(primaryLsn - p.lsn)) : p.role === 'primary' ? 0 : null;
      next.set(r.name, { ok: p.ok, role: p.role, streaming: p.streaming, lagBytes: lag });
    });
    const changed =
      next.size !== this.current.size ||
      [...next].some(([k, v]) => {
        const o = this.current.get(k);
        return !o || o.ok !== v.ok || o.role !== v.role || o.streaming !== v.streaming || o.lagBytes !== v.lagBytes;
      });
    this.current = next;
    for (const name of this.clients.keys()) if (!regs.some((r) => r.name === name)) this.drop(name);
    if (changed) this.onChange();
  }

  private async probe(reg: Registration): Promise<Probe> {
    try {
      let c = this.clients.get(reg.name);
      if (!c) {
        c = new pg.Client({
          host: reg.host,
          port: reg.port,
          ...this.cred,
          connectionTimeoutMillis: this.timeoutMs,
          query_timeout: this.timeoutMs,
          application_name: 'pgwarden-proxy-health',
          ...(this.tls ? { ssl: tlsClientOptions(this.tls) } : {}),
        });
        c.on('error', () => this.drop(reg.name));
        this.clients.set(reg.name, c);
        await c.connect();
      }
      const row = (await c.query(SQL)).rows[0];
      return { ok: true, role: row.r ? 'standby' : 'primary', streaming: row.streaming, lsn: row.lsn ? parseLsn(row.lsn) : null };
    } catch {
      this.drop(reg.name);
      return FAILED;
    }
  }

  private drop(name: string): void {
    const c = this.clients.get(name);
    this.clients.delete(name);
    void c?.end().catch(() => {});
  }
}
