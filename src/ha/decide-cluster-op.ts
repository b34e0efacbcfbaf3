/**
 * Pure: a whole-cluster stop or start an operator asked for (`pgwarden cluster stop|start`). Both
 * run inside a pause, so nothing fails over meanwhile. Stop: standbys stop first; the leader stops
 * last, once every other member is down, and keeps the lock so that it is the one to come back.
 * Start: the leader (or, if the lock lapsed, the last leader) starts first as primary; standbys
 * start once it runs. Null when no such operation is under way (or it leaves this node to the
 * normal decision).
 */
import type { ClusterSnapshot } from '../store/types.js';
import { decision, type Action, type Decision } from './actions.js';
import type { View } from './view.js';

export function clusterOperation(v: View): Decision | null {
  if (v.cluster.kind !== 'snapshot' || !v.cluster.pause?.cluster) return null;
  const c = v.cluster;
  if (v.inFlight) return null;
  const leader = c.leader?.name ?? null;
  const lock: Action[] = leader === v.self ? [{ type: 'refresh_leader' }] : [];
  if (c.pause!.cluster === 'stop') {
    if (v.local.postmaster === 'stopped') return decision('cluster stopped by an operator: PostgreSQL stays down until pgwarden cluster start', ...lock);
    if (leader !== v.self) return decision('cluster stop: stopping my PostgreSQL (standbys go first)', { type: 'demote', mode: 'graceful' });
    const up = othersRunning(v, c);
    if (up.length) return decision(`cluster stop: waiting for ${up.join(', ')} to stop before the primary`, ...lock);
    return decision('cluster stop: every standby is down; stopping the primary, keeping the leader lock', ...lock, { type: 'demote', mode: 'graceful' });
  }
  // Start: the leader's own start is the normal recovery; a standby waits for the primary.
  const first = leader ?? c.optime?.name ?? null;
  if (first === v.self || v.local.postmaster !== 'stopped') return null;
  const primary = leader === null ? undefined : c.members.get(leader);
  if (primary?.state === 'running' && primary.role === 'primary') return null;
  return decision(`cluster start: waiting for ${leader ?? `the last leader ${first ?? '(unknown)'}`} to run as primary before starting`);
}

/** Members other than us whose agents report PostgreSQL up (or busy); a member without a live status counts as down. */
function othersRunning(v: View, c: ClusterSnapshot): string[] {
  return [...c.registry.keys()].filter((n) => {
    if (n === v.self) return false;
    const m = c.members.get(n);
    return m !== undefined && m.state !== 'stopped' && m.state !== 'crashed';
  });
}
