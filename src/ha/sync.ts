/**
 * Pure: synchronous replication. The leader keeps `synchronous_standby_names` (the GUC) and the
 * recorded synchronous set (the store's sync key) in step, one change per cycle, so that the record
 * always names every standby the GUC names: a standby is recorded before the GUC names it, and
 * dropped from the record only after the GUC stopped naming it. Promotion then only needs the
 * record (see syncElection).
 *
 *  - on:     FIRST k (the k chosen standbys): every acknowledged commit is on all of them.
 *  - quorum: ANY k (every eligible standby): every acknowledged commit is on k of them.
 * Both cases: with R the recorded set, a commit is on at least k members of R, so any
 * |R| - k + 1 members of R include one that has it; the most advanced of them has every commit.
 */
import type { ClusterSnapshot, SyncState } from '../store/types.js';
import type { Action } from './actions.js';
import type { View } from './view.js';

export type SyncMode = 'off' | 'on' | 'quorum';

export interface SyncConfig {
  readonly mode: SyncMode;
  /** k: standbys that must confirm a commit. */
  readonly count: number;
  /** With no eligible standby, commits wait instead of going asynchronous. */
  readonly strict: boolean;
}

/** What the GUC should say: names and the k it asks for. */
export interface SyncTarget {
  readonly names: readonly string[];
  readonly count: number;
}

const quoteName = (n: string) => `"${n.replace(/"/g, '""')}"`;

export function renderSyncNames(mode: SyncMode, t: SyncTarget): string {
  if (mode === 'off' || t.names.length === 0) return '';
  return `${mode === 'quorum' ? 'ANY' : 'FIRST'} ${t.count} (${t.names.map((n) => (n === '*' ? n : quoteName(n))).join(', ')})`;
}

/** The member names in a value renderSyncNames wrote ('*' is not a member and is left out). */
export function parseSyncNames(value: string): string[] {
  const list = /\((.*)\)\s*$/.exec(value)?.[1] ?? '';
  return [...list.matchAll(/"((?:[^"]|"")*)"/g)].map((m) => m[1]!.replace(/""/g, '"'));
}

/**
 * Standbys that may be synchronous: connected to this primary and streaming (caught up), known
 * to the cluster, not tagged nosync; best first: priority, then the most WAL flushed, then name.
 */
export function eligibleStandbys(v: View, c: ClusterSnapshot): string[] {
  return v.local.replicas
    .filter((r) => r.state === 'streaming' && c.registry.has(r.name) && c.registry.get(r.name)!.tags.nosync !== true)
    .sort((a, b) => {
      const prio = (c.registry.get(b.name)!.tags.priority ?? 0) - (c.registry.get(a.name)!.tags.priority ?? 0);
      if (prio) return prio;
      if (a.flushLsn !== b.flushLsn) return (b.flushLsn ?? 0n) > (a.flushLsn ?? 0n) ? 1 : -1;
      return a.name < b.name ? -1 : 1;
    })
    .map((r) => r.name);
}

/** What the leader wants synchronous now. */
export function desiredSync(v: View, c: ClusterSnapshot): SyncTarget {
  const cfg = v.config.sync;
  if (cfg.mode === 'off') return { names: [], count: 0 };
  const eligible = eligibleStandbys(v, c);
  const current = parseSyncNames(v.local.syncStandbyNames);
  if (eligible.length === 0) {
    // Strict: keep waiting on the standbys named so far (any standby at all when none was).
    if (cfg.strict) return { names: current.length ? current : ['*'], count: cfg.count };
    return { names: [], count: 0 };
  }
  if (cfg.mode === 'quorum') return { names: eligible, count: cfg.strict ? cfg.count : Math.min(cfg.count, eligible.length) };
  // on: keep the synchronous standbys that are still eligible (no flapping on lag noise), fill up by rank.
  const keep = current.filter((n) => eligible.includes(n));
  const names = [...keep, ...eligible.filter((n) => !keep.includes(n))].slice(0, cfg.count);
  return { names, count: cfg.strict ? cfg.count : names.length };
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

/**
 * The next step that brings GUC and record to `desiredSync`, or null when both are there.
 * Adding: record first, then the GUC. Removing: the GUC first, then the record.
 */
export function syncStep(v: View, c: ClusterSnapshot): Action | null {
  const mode = v.config.sync.mode;
  const want = desiredSync(v, c);
  const wantNames = want.names.filter((n) => n !== '*');
  const guc = renderSyncNames(mode, want);
  const rec = c.sync;
  const mine = rec?.value.leader === v.self ? rec.value : null;
  const revision = rec?.revision ?? 0;
  if (mode === 'off') {
    if (v.local.syncStandbyNames !== '') return { type: 'set_sync_guc', value: '' };
    return rec ? { type: 'set_sync_record', revision, state: null } : null;
  }
  // A record written by an earlier leader says nothing about our GUC: start ours from what the GUC names.
  const recorded = mine ? mine.members : parseSyncNames(v.local.syncStandbyNames);
  const record = (members: readonly string[]): Action => ({ type: 'set_sync_record', revision, state: { leader: v.self, members: [...members], mode, count: want.count, wanted: v.config.sync.count } satisfies SyncState });
  if (!mine || !wantNames.every((n) => recorded.includes(n))) return record([...recorded, ...wantNames.filter((n) => !recorded.includes(n))]);
  if (v.local.syncStandbyNames !== guc) return { type: 'set_sync_guc', value: guc };
  if (!sameSet(recorded, wantNames) || mine.count !== want.count || mine.mode !== mode || mine.wanted !== v.config.sync.count) return record(wantNames);
  return null;
}

/**
 * The rule a failover candidate must pass when a synchronous set is recorded: be in it (or be the
 * running primary itself), and see enough of it to know it has every acknowledged commit.
 * Returns why not, or null.
 */
export function syncElection(c: ClusterSnapshot, candidate: string, reachable: ReadonlyMap<string, bigint | null>): string | null {
  const rec = c.sync?.value;
  if (!rec || rec.members.length === 0) return null;
  const set = rec.members;
  if (!set.includes(candidate)) return `is not in the synchronous set (${set.join(', ')}): it may lack acknowledged commits`;
  const seen = set.filter((n) => reachable.has(n) && reachable.get(n) !== null);
  const needed = set.length - rec.count + 1;
  if (seen.length < needed) return `sees ${seen.length} of the synchronous set (${set.join(', ')}), needs ${needed} to be sure it holds every acknowledged commit`;
  const mine = reachable.get(candidate) ?? 0n;
  const ahead = seen.find((n) => (reachable.get(n) ?? 0n) > mine);
  return ahead ? `${ahead} of the synchronous set is further ahead` : null;
}
