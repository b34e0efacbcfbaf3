/**
 * Checkers that run through every fault test: a writer committing sequential ids to whichever
 * node is writable (recording each acknowledged id), and a sampler asking every node several
 * times a second whether it accepts writes (recording any round with two writable nodes).
 */
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';

export interface Endpoint {
  readonly name: string;
  readonly port: number;
  /** Default 127.0.0.1; the fault lab's hosts have their own addresses. */
  readonly host?: string;
}

export interface Credentials {
  readonly user: string;
  readonly password: string;
  /** When the cluster's PostgreSQL takes TLS logins only (postgresql.tls). */
  readonly ssl?: ConnectionOptions;
}

export interface Ack {
  readonly id: number;
  readonly node: string;
  /** performance.now() when the commit was acknowledged. */
  readonly at: number;
  /** performance.now() when the connection it went through was opened: a write through a
   *  connection older than a postmaster kill may have been committed by an orphaned backend. */
  readonly connectedAt: number;
}

export async function connect(port: number, cred: Credentials, timeoutMs: number, host = '127.0.0.1', queryTimeoutMs = 2000): Promise<pg.Client> {
  const c = new pg.Client({
    host,
    port,
    user: cred.user,
    password: cred.password,
    ...(cred.ssl ? { ssl: cred.ssl } : {}),
    database: 'postgres',
    connectionTimeoutMillis: timeoutMs,
    query_timeout: queryTimeoutMs,
    statement_timeout: queryTimeoutMs,
  });
  c.on('error', () => {});
  await c.connect();
  return c;
}

export async function writable(port: number, cred: Credentials): Promise<boolean> {
  const c = await connect(port, cred, 1000);
  try {
    return !(await c.query('SELECT pg_is_in_recovery() AS r')).rows[0].r;
  } finally {
    await c.end().catch(() => {});
  }
}

/** The longest stretch within [from, to] with no acknowledgement, in the acks' own time unit (they are in order). */
export function longestGap(acks: readonly { readonly at: number }[], from: number, to: number): number {
  let prev = from;
  let gap = 0;
  for (const a of acks) {
    if (a.at < from) continue;
    if (a.at > to) break;
    gap = Math.max(gap, a.at - prev);
    prev = a.at;
  }
  return Math.max(gap, to - prev);
}

export class Writer {
  readonly acks: Ack[] = [];
  private running = false;
  private done: Promise<void> | null = null;
  private next = 1;

  constructor(
    private readonly nodes: () => readonly Endpoint[],
    private readonly cred: Credentials,
    private readonly table = 'pgw_acked',
  ) {}

  async start(): Promise<void> {
    const primary = await this.findPrimary();
    if (!primary) throw new Error('writer: no writable node to create the table on');
    await primary.client.query(`CREATE TABLE IF NOT EXISTS ${this.table} (id bigint PRIMARY KEY, at timestamptz DEFAULT now())`);
    const { rows } = await primary.client.query(`SELECT coalesce(max(id), 0) + 1 AS n FROM ${this.table}`);
    this.next = Number(rows[0].n);
    await primary.client.end();
    this.running = true;
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  /** The longest pause between acknowledged commits within [from, to] (performance.now() ms). */
  longestGap(from: number, to: number): number {
    return longestGap(this.acks, from, to);
  }

  /** First acknowledged write after `t` that satisfies `where`. */
  firstAckAfter(t: number, where: (a: Ack) => boolean = () => true): Ack | undefined {
    return this.acks.find((a) => a.at > t && where(a));
  }

  private async findPrimary(): Promise<{ client: pg.Client; node: string; connectedAt: number } | null> {
    for (const n of this.nodes()) {
      try {
        const connectedAt = performance.now();
        const client = await connect(n.port, this.cred, 500, n.host);
        if (!(await client.query('SELECT pg_is_in_recovery() AS r')).rows[0].r) return { client, node: n.name, connectedAt };
        await client.end();
      } catch {
        // try the next node
      }
    }
    return null;
  }

  private async loop(): Promise<void> {
    let cur: { client: pg.Client; node: string; connectedAt: number } | null = null;
    while (this.running) {
      if (!cur) {
        cur = await this.findPrimary();
        if (!cur) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
      }
      const id = this.next;
      try {
        await cur.client.query(`INSERT INTO ${this.table} (id) VALUES ($1)`, [id]);
        this.acks.push({ id, node: cur.node, at: performance.now(), connectedAt: cur.connectedAt });
        this.next++;
        await new Promise((r) => setTimeout(r, 20));
      } catch (err) {
        // Unacknowledged: the id may or may not be committed. A duplicate means it was.
        if ((err as { code?: string }).code === '23505') this.next++;
        await cur.client.end().catch(() => {});
        cur = null;
      }
    }
    await cur?.client.end().catch(() => {});
  }
}

export interface SplitBrain {
  readonly at: number;
  readonly nodes: readonly string[];
}

export class Sampler {
  readonly splitBrains: SplitBrain[] = [];
  rounds = 0;
  private lastWritable: string | null = null;
  private running = false;
  private done: Promise<void> | null = null;
  private readonly clients = new Map<string, pg.Client>();

  constructor(
    private readonly nodes: () => readonly Endpoint[],
    private readonly cred: Credentials,
    private readonly everyMs = 150,
    /** Called with the writable nodes whenever that set changes (performance.now() ms). */
    private readonly onChange: (at: number, writable: string[]) => void = () => {},
  ) {}

  start(): void {
    this.running = true;
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    await Promise.all([...this.clients.values()].map((c) => c.end().catch(() => {})));
  }

  private async probe(n: Endpoint): Promise<boolean> {
    try {
      let c = this.clients.get(n.name);
      if (!c) {
        // Short deadlines: a host whose network vanished must not slow the other samples down.
        c = await connect(n.port, this.cred, 300, n.host, 500);
        this.clients.set(n.name, c);
      }
      return !(await c.query('SELECT pg_is_in_recovery() AS r')).rows[0].r;
    } catch {
      const c = this.clients.get(n.name);
      this.clients.delete(n.name);
      await c?.end().catch(() => {});
      return false;
    }
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const nodes = this.nodes();
      const results = await Promise.all(nodes.map((n) => this.probe(n)));
      this.rounds++;
      const w = nodes.filter((_, i) => results[i]).map((n) => n.name);
      if (w.length > 1) this.splitBrains.push({ at: performance.now(), nodes: w });
      if (w.join() !== this.lastWritable) this.onChange(performance.now(), w);
      this.lastWritable = w.join();
      await new Promise((r) => setTimeout(r, this.everyMs));
    }
  }
}

export async function sqlRows(port: number, cred: Credentials, text: string): Promise<Record<string, unknown>[]> {
  const c = await connect(port, cred, 2000);
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end().catch(() => {});
  }
}

/** Ids present on a node: what survived. */
export async function idsOn(port: number, cred: Credentials, table = 'pgw_acked'): Promise<Set<number>> {
  return new Set((await sqlRows(port, cred, `SELECT id FROM ${table}`)).map((r) => Number(r.id)));
}

/** The writer and the split-brain sampler every fault test runs, started on a settled cluster. */
export async function startCheckers(nodes: () => readonly Endpoint[], cred: Credentials): Promise<{ writer: Writer; sampler: Sampler }> {
  const sampler = new Sampler(nodes, cred);
  sampler.start();
  const writer = new Writer(nodes, cred);
  await writer.start();
  return { writer, sampler };
}

/** Stops both checkers and returns the split-brain samples seen. */
export async function stopCheckers(checkers: { writer: Writer; sampler: Sampler } | undefined): Promise<readonly SplitBrain[]> {
  await checkers?.writer.stop();
  await checkers?.sampler.stop();
  return checkers?.sampler.splitBrains ?? [];
}
