/**
 * What a manual failover to one node may lose, shown before the operator confirms it: the target's
 * WAL position against the furthest position anyone knows of (the last primary position the
 * leader published, and every member's last position), and why the automatic rules would not
 * promote it. Commits written after the leader's last publication are not known to anyone, so the
 * gap is a lower bound when the primary is gone.
 */
import { syncElection } from '../ha/sync.js';
import type { ClusterSnapshot } from '../store/types.js';
import { lagBytes, parseLsn } from '../util/lsn.js';
import type { ClusterReport } from './cluster-view.js';

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

export function failoverPreview(snap: ClusterSnapshot, report: ClusterReport, to: string): FailoverPreview {
  const target = report.members.find((m) => m.name === to);
  const targetLsn = target?.lsn ?? null;
  const known = [
    ...(snap.optime ? [{ name: snap.optime.name, lsn: snap.optime.lsn, source: 'last primary position' as const }] : []),
    ...report.members.filter((m) => m.lsn !== null && m.name !== to).map((m) => ({ name: m.name, lsn: m.lsn!, source: 'member' as const })),
  ];
  const furthest = known.reduce<(typeof known)[number] | null>((best, k) => (best === null || parseLsn(k.lsn) > parseLsn(best.lsn) ? k : best), null);
  const gap = targetLsn === null ? null : furthest === null ? 0 : Number(lagBytes(parseLsn(furthest.lsn), parseLsn(targetLsn)));
  const running = new Map(report.members.filter((m) => m.status.endsWith('running') && m.lsn !== null).map((m) => [m.name, parseLsn(m.lsn!)] as const));
  let refused: string | null = null;
  if (targetLsn === null) refused = 'its WAL position is unknown';
  else if (snap.sync && snap.sync.value.members.length > 0) refused = syncElection(snap, to, running);
  else if (gap !== null && gap > 0) refused = `${furthest!.name} is further ahead (${furthest!.source} ${furthest!.lsn})`;
  return { to, target_lsn: targetLsn, furthest, gap_bytes: gap, refused_because: refused, sync_members: snap.sync?.value.members ?? [] };
}
