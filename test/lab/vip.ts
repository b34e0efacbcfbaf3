/**
 * The floating-address scenarios' shared shape and checks (the keepalived scenario in the field
 * report, done by the leader lock). From the driver's samples of every host (which one answered on
 * the address: it has it and its interface is up) and the checker's record of the writable nodes:
 * - at no sample do two hosts hold the address;
 * - no host holds it while its PostgreSQL is not the writable primary for longer than one loop
 *   (plus the two samplers' own periods);
 * - a write acknowledged through the address is lost only if the old holder acknowledged it
 *   before the address left it (asynchronous replication's tail, as for direct writes).
 */
import { waitFor } from '../../src/util/deadline.js';
import type { LabCluster } from './cluster.js';
import { assertThat, leaderOf, seconds, sleep, type ScenarioContext } from './scenario.js';

/** What the samplers add to "one loop": the VIP sample period and a sampler round with its reconnect. */
const SAMPLING_SLACK_MS = 1000;

export interface VipFault {
  readonly what: string;
  /** Whether the address must move to another node (false: the primary keeps it, restarted in place). */
  readonly moves: boolean;
  inject(c: LabCluster, primary: string): void | Promise<void>;
  heal(c: LabCluster, primary: string): void | Promise<void>;
  /** How long the fault is held before the heal (ms); default 2 × ttl. */
  readonly holdMs?: number;
}

/** Who held the address at the last sample. */
const holdersNow = (c: LabCluster) => c.vipSamples.at(-1)?.holders ?? [];

export async function vipFault(c: LabCluster, ctx: ScenarioContext, f: VipFault): Promise<void> {
  const primary = await leaderOf(c);
  await waitFor(`${primary} alone to hold ${c.vip}`, () => holdersNow(c).join() === primary, { timeoutMs: 10_000, intervalMs: 100 });
  const t0 = Date.now();
  await f.inject(c, primary);
  let movedAt: number | null = null;
  try {
    const want = (h: string[]) => h.length === 1 && (f.moves ? h[0] !== primary : h[0] === primary);
    // Writes through the address again: an acknowledgement on a connection opened after the fault.
    const ack = await waitFor(`a write through ${c.vip} on a connection opened after the fault`, () => c.vipAcks.find((a) => a.conn > t0 && want(holdersAt(c, a.at))), {
      timeoutMs: (c.timing.ttl + 20) * 1000,
      intervalMs: 50,
    }).catch((err: Error) => {
      // What the address and the writes through it did meanwhile, for the report.
      const changes = c.vipSamples.filter((s, i, all) => s.at > t0 && s.holders.join() !== all[i - 1]?.holders.join());
      const after = c.vipAcks.filter((a) => a.at > t0);
      throw new Error(
        `${err.message}; holders after the fault (ms, hosts): ${JSON.stringify(changes.map((s) => [s.at - t0, s.holders]))}; ` +
          `${after.length} writes through it after the fault, ${after.filter((a) => a.conn > t0).length} on new connections`,
      );
    });
    const back = Math.round((ack.at - t0) / 100) / 10;
    movedAt = f.moves ? (c.vipSamples.find((s) => s.at > t0 && want(s.holders))?.at ?? null) : null;
    const holder = holdersAt(c, ack.at)[0];
    ctx.note(
      `${f.what}: the address ${f.moves ? `moved to ${holder} ${movedAt === null ? '?' : (movedAt - t0) / 1000} s after the fault` : `stayed on ${holder}`}; ` +
        `the first write through it after ${back} s (ttl ${c.timing.ttl} s)`,
    );
    assertThat(back <= c.timing.ttl + 3, `writes through the address came back after ${back} s, more than ttl + 3 s`);
    await sleep(Math.max(0, (f.holdMs ?? 2 * c.timing.ttl * 1000) - (Date.now() - t0)));
  } finally {
    await f.heal(c, primary);
  }
  const t1 = Date.now();
  const r = await c.waitConverged(90_000, f.moves ? `${primary} back as a streaming standby` : 'every standby streaming again');
  if (f.moves) {
    assertThat(r.leader !== primary && r.members.find((m) => m.name === primary)?.role === 'standby', `${primary} is not back as a standby`);
  }
  ctx.recovered(seconds(t1));
  // No preemption: the recovered node never takes the address back.
  await waitFor(`${r.leader} alone to hold ${c.vip} after the heal`, () => holdersNow(c).join() === r.leader, { timeoutMs: 10_000, intervalMs: 100 });
  await sleep(2 * c.timing.loop_wait * 1000);
  if (f.moves) assertThat(!c.vipSamples.some((s) => s.at > (movedAt ?? t0) && s.holders.includes(primary)), `${primary} held ${c.vip} again after it had moved`);
  assertVipInvariants(c, ctx);
  await assertVipAcksKept(c, r.leader!, movedAt);
}

/** The last of a time series (ascending `at`) at or before wall time `t`. */
function lastAt<T extends { at: number }>(xs: readonly T[], t: number): T | undefined {
  let last: T | undefined;
  for (const x of xs) {
    if (x.at > t) break;
    last = x;
  }
  return last;
}

/** The hosts holding the address at `t` (the sample at or before it). */
const holdersAt = (c: LabCluster, t: number): string[] => lastAt(c.vipSamples, t)?.holders ?? [];
/** The writable nodes at `t`, as the checker last reported them. */
const writableAt = (c: LabCluster, t: number): string[] => lastAt(c.writable, t)?.nodes ?? [];

/** Two holders at one sample, or a holder that is not writable for longer than one loop: both fail. */
export function assertVipInvariants(c: LabCluster, ctx: ScenarioContext): void {
  const doubles = c.vipSamples.filter((s) => s.holders.length > 1);
  const graceMs = c.timing.loop_wait * 1000 + SAMPLING_SLACK_MS;
  const stale: string[] = [];
  let longest = 0;
  const episode = (h: string, from: number, to: number) => {
    longest = Math.max(longest, to - from);
    if (to - from > graceMs) stale.push(`${h} from ${new Date(from).toISOString()} for ${(to - from) / 1000} s`);
  };
  for (const h of c.db) {
    let since: number | null = null;
    for (const s of c.vipSamples) {
      const bad = s.holders.includes(h) && !writableAt(c, s.at).includes(h);
      if (bad) since ??= s.at;
      else if (since !== null) {
        episode(h, since, s.at);
        since = null;
      }
    }
    if (since !== null) episode(h, since, c.vipSamples.at(-1)!.at);
  }
  ctx.note(`address samples: ${c.vipSamples.length}; two holders at once: ${doubles.length}; longest time a holder was not the writable primary: ${longest / 1000} s`);
  assertThat(doubles.length === 0, `two hosts held ${c.vip} at ${doubles.length} samples: ${JSON.stringify(doubles.slice(0, 3))}`);
  assertThat(stale.length === 0, `a host held ${c.vip} while its PostgreSQL was not the writable primary: ${stale.join('; ')}`);
}

/** Writes acknowledged through the address are on the final primary, but for the old holder's tail. */
async function assertVipAcksKept(c: LabCluster, primary: string, movedAt: number | null): Promise<void> {
  const kept = await c.idsOn(primary, 'lab_vip_acked');
  const lost = c.vipAcks.filter((a) => a.at < Date.now() - 5000 && !kept.has(a.id));
  const late = lost.filter((a) => movedAt === null || a.at >= movedAt);
  assertThat(
    late.length === 0,
    `writes acknowledged through ${c.vip} after it moved were lost: ${late
      .map((a) => a.id)
      .slice(0, 10)
      .join(', ')}`,
  );
  assertThat(c.sync === 'off' || lost.length === 0, `synchronous replication lost writes acknowledged through ${c.vip}`);
}
