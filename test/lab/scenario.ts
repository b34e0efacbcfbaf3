/** What a lab scenario is, and the small helpers they share. */
import { waitFor } from '../../src/util/deadline.js';
import type { LabCluster, LabTiming } from './cluster.js';

export interface ScenarioContext {
  /** Seconds until the cluster was healthy again after the fault (reported). */
  recovered(seconds: number): void;
  /** A line for the report: what was observed (timings, the chosen behaviour). */
  note(text: string): void;
}

export interface Scenario {
  readonly id: string;
  readonly title: string;
  readonly dbHosts: number;
  /** synchronous_mode for the scenario's nodes (default off); with it, no acknowledged id may be lost. */
  readonly sync?: 'on' | 'quorum';
  /** Each database host's directory on a tmpfs of this many MB (a fault can fill it). */
  readonly diskMb?: number;
  /** The nodes hold a floating address, and the checker writes through it too. */
  readonly vip?: boolean;
  /** Node settings that differ from the defaults (LAB_TIMING). */
  readonly timing?: Partial<LabTiming>;
  run(c: LabCluster, ctx: ScenarioContext): Promise<void>;
}

/** A peer's scenario: it builds its own hosts (no pgwarden cluster) and reports what it measured. */
export interface PeerScenario {
  readonly id: string;
  readonly title: string;
  standalone(ctx: ScenarioContext): Promise<{ splitBrainSamples: number }>;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const seconds = (fromMs: number) => Math.round((Date.now() - fromMs) / 100) / 10;

/** The first write acknowledged after `t0` (wall ms) that satisfies `where`. */
export function waitForWrite(c: LabCluster, t0: number, timeoutMs: number, where: (a: { node: string; conn: number }) => boolean = () => true) {
  return waitFor('a write acknowledged after the fault', () => c.acks.find((a) => a.at > t0 && where(a)), { timeoutMs, intervalMs: 50 });
}

export async function leaderOf(c: LabCluster): Promise<string> {
  const r = await c.report();
  if (!r.leader) throw new Error('no leader');
  return r.leader;
}

export function assertThat(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

/** A fault on the primary that another node must take over from (L9-L12). */
export interface PrimaryFault {
  /** What the fault does, for the notes. */
  readonly what: string;
  inject(c: LabCluster, primary: string): void | Promise<void>;
  heal(c: LabCluster, primary: string): void | Promise<void>;
}

/** A scenario that is one fault on the primary, held for 2 × ttl and checked by failPrimary. */
export function primaryFaultScenario(id: string, title: string, fault: PrimaryFault, opts: { readonly diskMb?: number } = {}): Scenario {
  return { id, title, dbHosts: 3, ...opts, run: (c, ctx) => failPrimary(c, ctx, fault) };
}

/**
 * Injects a fault on the primary for 2 × ttl and checks what the core promises: writes back on another node
 * within ttl + 3 s; the old primary fenced (its `fenced` event) no later than the new one was
 * promoted; after the heal, the old primary back as a streaming standby. The checker counts lost
 * acknowledged writes and split-brain samples as for every scenario.
 */
export async function failPrimary(c: LabCluster, ctx: ScenarioContext, f: PrimaryFault): Promise<void> {
  const primary = await leaderOf(c);
  const t0 = Date.now();
  let next: string;
  await f.inject(c, primary);
  try {
    const ack = await waitForWrite(c, t0, (c.timing.ttl + 15) * 1000, (a) => a.node !== primary);
    next = ack.node;
    const back = Math.round((ack.at - t0) / 100) / 10;
    ctx.note(`${f.what}: writes resumed on ${ack.node} after ${back} s (ttl ${c.timing.ttl} s, primary_hang_timeout ${c.timing.primary_hang_timeout} s)`);
    assertThat(back <= c.timing.ttl + 3, `writes came back after ${back} s, more than ttl + 3 s`);
    await sleep(Math.max(0, 2 * c.timing.ttl * 1000 - (Date.now() - t0)));
  } finally {
    await f.heal(c, primary);
  }
  // The old primary's agent records the fence (a killed or frozen one, once it is back).
  const { fenced, promoted } = await waitFor(
    `a fenced event of ${primary} and a promoted event of ${next}`,
    async () => {
      const events = (await c.events()).filter((e) => Date.parse(e.at) >= t0);
      const fenced = events.find((e) => e.kind === 'fenced' && e.node === primary);
      const promoted = events.find((e) => e.kind === 'promoted' && e.node === next);
      return fenced && promoted ? { fenced, promoted } : false;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  assertThat(Date.parse(fenced.at) <= Date.parse(promoted.at), `${primary} was fenced (${fenced.at}) after ${next} was promoted (${promoted.at})`);
  ctx.note(`${primary} fenced ${(Date.parse(fenced.at) - t0) / 1000} s after the fault; ${next} promoted ${(Date.parse(promoted.at) - t0) / 1000} s after it`);
  const t1 = Date.now();
  const r = await c.waitConverged(90_000, `${primary} back as a streaming standby`);
  assertThat(r.leader !== primary, 'the old primary took the leadership back');
  assertThat(r.members.find((m) => m.name === primary)?.role === 'standby', 'the old primary is not a standby');
  ctx.recovered(seconds(t1));
}
