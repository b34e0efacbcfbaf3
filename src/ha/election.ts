/**
 * Pure: who may lead, in which order, and why not. The one place that answers it for an automatic
 * failover, a switchover, the choice of synchronous standbys and the failover preview an operator
 * sees, so that none of them can disagree with the others.
 *
 * Promotion ranks data first: a still-running primary (it has every commit), then the highest
 * LSN, then priority, then name, so every node computes the same order from the same data.
 * Choosing synchronous standbys ranks the operator's priority first, then the most WAL flushed:
 * that choice risks no data, and a fixed preference keeps the set from following lag noise.
 */
import type { Tags } from '../config/schema.js';
import type { Registration, SyncState } from '../store/types.js';
import { lagBytes, type Lsn } from '../util/lsn.js';

export interface Candidate {
  readonly name: string;
  readonly running: boolean;
  readonly role: 'primary' | 'standby' | null;
  readonly lsn: Lsn | null;
  readonly tags: Tags | null;
  /** Its data directory's filesystem is full: promoted, it could not take writes either. */
  readonly diskFull?: boolean;
}

export interface Refusal {
  readonly name: string;
  readonly reason: string;
}

export interface Ranking {
  readonly ranked: readonly Candidate[];
  readonly excluded: readonly Refusal[];
}

export interface ElectionRules {
  /** The last primary position known to the store; lag is measured against it. */
  readonly optimeLsn: Lsn | null;
  readonly maximumLag: bigint;
  /** Members that must not win (the old leader during a switchover). */
  readonly exclude: ReadonlySet<string>;
  /**
   * Synchronous replication: only the recorded members may win (they hold every acknowledged
   * commit), besides a running primary; the lag limit does not apply to them. null or an empty
   * set: asynchronous rules.
   */
  readonly sync: SyncState | null;
}

/** Eligible candidates best first, and the others with the reason each was refused. */
export function rank(candidates: readonly Candidate[], rules: ElectionRules): Ranking {
  const excluded: Refusal[] = [];
  const eligible: Candidate[] = [];
  for (const c of candidates) {
    const reason = ineligibility(c, rules);
    if (reason) excluded.push({ name: c.name, reason });
    else eligible.push(c);
  }
  eligible.sort(compareForPromotion);
  return { ranked: eligible, excluded };
}

/** Why `c` may not be promoted under `rules`, or null. */
export function ineligibility(c: Candidate, rules: ElectionRules): string | null {
  if (rules.exclude.has(c.name)) return 'is the leader being switched away from';
  if (!c.running) return 'PostgreSQL is not running';
  if (c.tags?.nofailover) return 'is tagged nofailover';
  if (c.diskFull) return "its data directory's filesystem is full";
  if (c.lsn === null) return 'its WAL position is unknown';
  if (hasSyncSet(rules.sync) && c.role !== 'primary') return outsideSyncSet(rules.sync, c.name);
  if (rules.optimeLsn !== null) {
    const lag = lagBytes(rules.optimeLsn, c.lsn);
    if (lag > rules.maximumLag) return `lags ${lag} bytes behind the last primary position (maximum_lag_on_failover ${rules.maximumLag})`;
  }
  return null;
}

/** Promotion order: running primary, then LSN, then priority, then name. */
export function compareForPromotion(a: Candidate, b: Candidate): number {
  const primary = Number(b.role === 'primary') - Number(a.role === 'primary');
  if (primary) return primary;
  if (a.lsn !== b.lsn) return (b.lsn ?? 0n) > (a.lsn ?? 0n) ? 1 : -1;
  return byPriorityThenName(a.tags, b.tags, a.name, b.name);
}

/** Why `best` ranks before `other`, in words. */
export function preference(best: Candidate, other: Candidate): string {
  if (best.role === 'primary') return 'it runs as primary';
  if (best.lsn !== other.lsn) return 'higher WAL position';
  if ((best.tags?.priority ?? 0) !== (other.tags?.priority ?? 0)) return 'higher priority';
  return 'same position and priority, name sorts first';
}

function byPriorityThenName(a: Tags | null, b: Tags | null, an: string, bn: string): number {
  const prio = (b?.priority ?? 0) - (a?.priority ?? 0);
  if (prio) return prio;
  return an < bn ? -1 : an > bn ? 1 : 0;
}

const hasSyncSet = (s: SyncState | null): s is SyncState => s !== null && s.members.length > 0;

function outsideSyncSet(rec: SyncState, name: string): string | null {
  return rec.members.includes(name) ? null : `is not in the synchronous set (${rec.members.join(', ')}): it may lack acknowledged commits`;
}

/**
 * The rule a failover candidate must pass when a synchronous set is recorded: be in it, and see
 * enough of it to know it has every acknowledged commit (with R the recorded set and k its count,
 * any |R| - k + 1 members include one that has each commit; the most advanced of them has all).
 * `positions`: the members the candidate can see running, with their LSN. Returns why not, or null.
 */
export function syncRefusal(rec: SyncState | null, candidate: string, positions: ReadonlyMap<string, Lsn | null>): string | null {
  if (!hasSyncSet(rec)) return null;
  const outside = outsideSyncSet(rec, candidate);
  if (outside) return outside;
  const set = rec.members;
  const seen = set.filter((n) => positions.has(n) && positions.get(n) !== null);
  const needed = set.length - rec.count + 1;
  if (seen.length < needed) return `sees ${seen.length} of the synchronous set (${set.join(', ')}), needs ${needed} to be sure it holds every acknowledged commit`;
  const mine = positions.get(candidate) ?? 0n;
  const ahead = seen.find((n) => (positions.get(n) ?? 0n) > mine);
  return ahead ? `${ahead} of the synchronous set is further ahead` : null;
}

/** A standby as the primary sees it in pg_stat_replication, with its registration. */
export interface SyncCandidate {
  readonly name: string;
  /** startup, catchup, streaming, backup, stopping */
  readonly state: string;
  readonly flushLsn: Lsn | null;
  readonly replyAgeMs: number | null;
  readonly registration: Registration | undefined;
}

/** A standby silent this long (it reports every second) is taken for cut off. */
export const SILENT_STANDBY_MS = 3000;

/** Why a standby may not be synchronous now, or null. */
function syncIneligibility(s: SyncCandidate, reg: Registration): string | null {
  if (s.state !== 'streaming') return `is not streaming (${s.state})`;
  if ((s.replyAgeMs ?? 0) > SILENT_STANDBY_MS) return `has not replied for ${s.replyAgeMs} ms`;
  if (reg.tags.nosync) return 'is tagged nosync';
  return null;
}

/**
 * Standbys that may be synchronous, best first: connected and streaming (caught up), heard from
 * lately, registered, not tagged nosync; ordered by priority, then the most WAL flushed, then name.
 */
export function rankSyncStandbys(standbys: readonly SyncCandidate[]): Ranking {
  const excluded: Refusal[] = [];
  const eligible: Candidate[] = [];
  for (const s of standbys) {
    const reg = s.registration;
    const reason = reg ? syncIneligibility(s, reg) : 'is not a registered member';
    if (reg && !reason) eligible.push({ name: s.name, running: true, role: 'standby', lsn: s.flushLsn, tags: reg.tags });
    else excluded.push({ name: s.name, reason: reason ?? '' });
  }
  eligible.sort((a, b) => {
    const prio = (b.tags?.priority ?? 0) - (a.tags?.priority ?? 0);
    if (prio) return prio;
    if (a.lsn !== b.lsn) return (b.lsn ?? 0n) > (a.lsn ?? 0n) ? 1 : -1;
    return a.name < b.name ? -1 : 1;
  });
  return { ranked: eligible, excluded };
}

/** A standby as the store shows it, for a switchover. */
export interface SwitchoverCandidate extends Candidate {
  readonly streaming: boolean;
}

/** Why a standby may not take over in a switchover, or null. */
function switchoverIneligibility(s: SwitchoverCandidate): string | null {
  if (!s.running) return 'PostgreSQL is not running';
  if (s.role !== 'standby') return 'does not run as a standby';
  if (!s.streaming) return 'is not streaming';
  if (s.tags?.nofailover) return 'is tagged nofailover';
  return null;
}

/**
 * The standby a switchover hands over to: the named one if it qualifies, else the best by the
 * promotion order. `standbys`: every registered member but the old leader. A string says why not.
 */
export function switchoverTarget(standbys: readonly SwitchoverCandidate[], to: string | null): Candidate | string {
  if (to) {
    const s = standbys.find((x) => x.name === to);
    if (!s) return `${to} is not a member of the cluster`;
    const why = switchoverIneligibility(s);
    return why ? `${to} is not a healthy streaming standby: ${why}` : s;
  }
  const best = standbys.filter((s) => switchoverIneligibility(s) === null).sort(compareForPromotion)[0];
  return best ?? 'no healthy streaming standby to hand over to';
}
