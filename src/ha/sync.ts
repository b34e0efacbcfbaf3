/**
 * Pure: synchronous replication. The leader keeps `synchronous_standby_names` (the GUC) and the
 * recorded synchronous set (the store's sync key) in step, one change per cycle (the agent runs the
 * next cycle at once after one), so that the record always covers every commit acknowledged so far:
 * a standby is recorded before the GUC names it, and dropped from the record only after the GUC
 * stopped naming it and the standbys that stay have caught up. Promotion then only needs the record
 * (see syncElection).
 *
 *  - on:     FIRST k (the k chosen standbys): every acknowledged commit is on all of them.
 *  - quorum: ANY k (every eligible standby): every acknowledged commit is on k of them.
 * Both cases: with R the recorded set, a commit is on at least k members of R, so any
 * |R| - k + 1 members of R include one that has it; the most advanced of them has every commit
 * (election.ts, syncRefusal). Which standbys qualify, and in which order, is election.ts's too.
 */
import type { ClusterSnapshot, SyncState } from '../store/types.js';
import type { Action } from './actions.js';
import { rankSyncStandbys } from './election.js';
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
  return [...list.matchAll(/"((?:[^"]|"")*)"/g)].map((m) => (m[1] ?? '').replace(/""/g, '"'));
}

/** Non-strict: how long commits wait with no standby streaming before they go asynchronous. */
const ASYNC_GRACE_MS = 5000;

/** Standbys that may be synchronous now, best first (election.ts). */
export function eligibleStandbys(v: View, c: ClusterSnapshot): string[] {
  return rankSyncStandbys(v.local.replicas.map((r) => ({ ...r, registration: c.registry.get(r.name) }))).ranked.map((r) => r.name);
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
    // Non-strict: standbys reconnect within a second or two of a primary restart; wait that long
    // before committing asynchronously.
    const gone = v.local.noReplicaSince;
    if (current.length && gone !== null && v.now - gone < ASYNC_GRACE_MS) return { names: current, count: parseSyncCount(v.local.syncStandbyNames) };
    return { names: [], count: 0 };
  }
  if (cfg.mode === 'quorum') return { names: eligible, count: cfg.strict ? cfg.count : Math.min(cfg.count, eligible.length) };
  // on: keep the synchronous standbys that are still eligible (no flapping on lag noise), fill up by rank.
  const keep = current.filter((n) => eligible.includes(n));
  const names = [...keep, ...eligible.filter((n) => !keep.includes(n))].slice(0, cfg.count);
  return { names, count: cfg.strict ? cfg.count : names.length };
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));
const union = (a: readonly string[], b: readonly string[]) => [...a, ...b.filter((n) => !a.includes(n))];

/** k in a value renderSyncNames wrote; 0 for ''. */
function parseSyncCount(value: string): number {
  return Number(/^\s*(?:FIRST|ANY)\s+(\d+)/i.exec(value)?.[1] ?? 0);
}

/**
 * The next step that brings GUC and record to `desiredSync`, or null when both are there (or
 * when the record waits for standbys to catch up). The record must always cover the GUC:
 *  1. widen the record first (members added, count lowered);
 *  2. then set the GUC;
 *  3. then narrow the record (members dropped, count raised), but only once the standbys the GUC
 *     now names have flushed everything the primary had written when the GUC was seen to be in
 *     force: commits acknowledged under the wider GUC are all below that point.
 */
export function syncStep(v: View, c: ClusterSnapshot): Action | null {
  const mode = v.config.sync.mode;
  const want = desiredSync(v, c);
  const names = want.names.filter((n) => n !== '*');
  const guc = renderSyncNames(mode, want);
  const rec = c.sync;
  const mine = rec?.value.leader === v.self ? rec.value : null;
  const revision = rec?.revision ?? 0;
  if (mode === 'off') {
    if (v.local.syncStandbyNames !== '') return { type: 'set_sync_guc', value: '' };
    return rec ? { type: 'set_sync_record', revision, state: null } : null;
  }
  const record = (members: readonly string[], count: number, narrowing?: SyncState['narrowing']): Action => ({
    type: 'set_sync_record',
    revision,
    state: { leader: v.self, members: [...members], mode, count, wanted: v.config.sync.count, ...(narrowing ? { narrowing } : {}) } satisfies SyncState,
  });
  // A record written by an earlier leader says nothing about our GUC: start ours from what the GUC names.
  const members = mine ? mine.members : parseSyncNames(v.local.syncStandbyNames);
  const count = mine ? mine.count : members.length ? parseSyncCount(v.local.syncStandbyNames) : want.count;

  if (!mine || names.some((n) => !members.includes(n)) || (want.count > 0 && count > want.count)) {
    // k only goes down here (an empty record takes the wanted k; going asynchronous keeps it).
    const widened = members.length === 0 ? want.count : want.count > 0 ? Math.min(count, want.count) : count;
    return record(union(members, names), widened);
  }
  if (v.local.syncStandbyNames !== guc) return { type: 'set_sync_guc', value: guc };
  if (sameSet(members, names) && count === want.count) {
    return mine.mode !== mode || mine.wanted !== v.config.sync.count || mine.narrowing ? record(names, want.count) : null;
  }
  const flushed = (lsn: bigint) => names.every((n) => (v.local.replicas.find((r) => r.name === n)?.flushLsn ?? -1n) >= lsn);
  if (v.local.lsn !== null && flushed(v.local.lsn)) return record(names, want.count);
  const n = mine.narrowing;
  if (n && sameSet(n.to, names) && n.count === want.count) return flushed(n.lsn) ? record(names, want.count) : null;
  return v.local.lsn === null ? null : record(members, count, { to: names, count: want.count, lsn: v.local.lsn });
}
