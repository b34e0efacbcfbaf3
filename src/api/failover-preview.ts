/**
 * What a manual failover to one node may lose, shown before the operator confirms it: the target's
 * WAL position against the furthest position anyone knows of (the last primary position the
 * leader published, and every member's last position), and why the automatic rules would not
 * promote it: the election's own rules (ha/election.ts), so the preview and an automatic failover
 * never disagree. Commits written after the leader's last publication are not known to anyone, so
 * the gap is a lower bound when the primary is gone.
 */
import { preference, rank, syncRefusal, type Candidate } from '../ha/election.js';
import type { ClusterSnapshot } from '../store/types.js';
import { formatLsn, lagBytes, type Lsn } from '../util/lsn.js';
import type { NodeReport } from '../client/node-report.js';

export interface FailoverPreview {
  readonly to: string;
  readonly target_lsn: string | null;
  /** The furthest known position and where it comes from. */
  readonly furthest: { readonly name: string; readonly lsn: string; readonly source: 'last primary position' | 'member' } | null;
  /** Bytes of WAL beyond the target's position (0 when it is the furthest); null when unknown. */
  readonly gap_bytes: number | null;
  /** Why the automatic rules would not promote it; null when they would. */
  readonly refused_because: string | null;
  readonly sync_members: readonly string[];
}

/**
 * `live`: each registered member's own report (null: its agent did not answer).
 * `maximumLag`: the cluster's maximum_lag_on_failover.
 */
export function failoverPreview(snap: ClusterSnapshot, live: ReadonlyMap<string, NodeReport | null>, to: string, maximumLag: bigint): FailoverPreview {
  const position = (name: string): Lsn | null => live.get(name)?.lsn ?? snap.members.get(name)?.lsn ?? null;
  const targetLsn = position(to);
  const known = [
    ...(snap.optime ? [{ name: snap.optime.name, lsn: snap.optime.lsn, source: 'last primary position' as const }] : []),
    ...[...snap.registry.keys()]
      .map((name) => ({ name, lsn: position(name), source: 'member' as const }))
      .filter((k): k is { name: string; lsn: Lsn; source: 'member' } => k.lsn !== null && k.name !== to),
  ];
  const furthest = known.reduce<(typeof known)[number] | null>((best, k) => (best === null || k.lsn > best.lsn ? k : best), null);
  const gap = targetLsn === null ? null : furthest === null ? 0 : Number(lagBytes(furthest.lsn, targetLsn));

  const candidates: Candidate[] = [...snap.registry.values()].map((r) => {
    const rep = live.get(r.name) ?? null;
    return { name: r.name, running: rep?.running ?? false, role: rep?.role ?? null, lsn: rep?.lsn ?? null, tags: r.tags, diskFull: rep?.disk_full ?? false };
  });
  const sync = snap.sync?.value ?? null;
  const { ranked, excluded } = rank(candidates, { optimeLsn: snap.optime?.lsn ?? null, maximumLag, exclude: new Set(), sync });
  const target = candidates.find((c) => c.name === to);
  const best = ranked[0];
  const positions = new Map(candidates.filter((c) => c.running).map((c) => [c.name, c.lsn] as const));
  const refused =
    excluded.find((e) => e.name === to)?.reason ??
    syncRefusal(sync, to, positions) ??
    (best && target && best.name !== to ? `${best.name} is a better candidate (${preference(best, target)})` : null);
  return {
    to,
    target_lsn: targetLsn === null ? null : formatLsn(targetLsn),
    furthest: furthest && { name: furthest.name, lsn: formatLsn(furthest.lsn), source: furthest.source },
    gap_bytes: gap,
    refused_because: refused,
    sync_members: sync?.members ?? [],
  };
}
