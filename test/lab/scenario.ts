/** What a lab scenario is, and the small helpers they share. */
import { waitFor } from '../../src/util/deadline.js';
import type { LabCluster } from './cluster.js';

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
  run(c: LabCluster, ctx: ScenarioContext): Promise<void>;
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
