/**
 * Pure: who may become leader when there is none. Eligible members are running, not tagged
 * nofailover, and within maximum_lag_on_failover of the last known primary position. They are
 * ranked: a still-running primary first (it has every commit), then highest LSN, then priority,
 * then name, so every node computes the same order from the same data.
 */
import type { Tags } from '../config/schema.js';
import { lagBytes, type Lsn } from '../util/lsn.js';

export interface Candidate {
  readonly name: string;
  readonly running: boolean;
  readonly role: 'primary' | 'standby' | null;
  readonly lsn: Lsn | null;
  readonly tags: Tags | null;
}

export interface Ranking {
  readonly ranked: readonly Candidate[];
  readonly excluded: readonly { readonly name: string; readonly reason: string }[];
}

export interface ElectionRules {
  /** The last primary position known to the store; lag is measured against it. */
  readonly optimeLsn: Lsn | null;
  readonly maximumLag: bigint;
  /** Members that must not win (the old leader during a switchover). */
  readonly exclude: ReadonlySet<string>;
  /**
   * Synchronous replication: only these may win (they hold every acknowledged commit), besides a
   * running primary; the lag limit does not apply to them. null: asynchronous rules.
   */
  readonly syncSet: ReadonlySet<string> | null;
}

export function rank(candidates: readonly Candidate[], rules: ElectionRules): Ranking {
  const excluded: { name: string; reason: string }[] = [];
  const eligible: Candidate[] = [];
  for (const c of candidates) {
    const reason = ineligibility(c, rules);
    if (reason) excluded.push({ name: c.name, reason });
    else eligible.push(c);
  }
  eligible.sort(compare);
  return { ranked: eligible, excluded };
}

function ineligibility(c: Candidate, rules: ElectionRules): string | null {
  if (rules.exclude.has(c.name)) return 'is the leader being switched away from';
  if (!c.running) return 'PostgreSQL is not running';
  if (c.tags?.nofailover) return 'is tagged nofailover';
  if (c.lsn === null) return 'its WAL position is unknown';
  if (rules.syncSet && c.role !== 'primary') {
    return rules.syncSet.has(c.name) ? null : 'is not in the synchronous set: it may lack acknowledged commits';
  }
  if (rules.optimeLsn !== null) {
    const lag = lagBytes(rules.optimeLsn, c.lsn);
    if (lag > rules.maximumLag) return `lags ${lag} bytes behind the last primary position (maximum_lag_on_failover ${rules.maximumLag})`;
  }
  return null;
}

function compare(a: Candidate, b: Candidate): number {
  const primary = Number(b.role === 'primary') - Number(a.role === 'primary');
  if (primary) return primary;
  if (a.lsn !== b.lsn) return (b.lsn ?? 0n) > (a.lsn ?? 0n) ? 1 : -1;
  const prio = (b.tags?.priority ?? 0) - (a.tags?.priority ?? 0);
  if (prio) return prio;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
