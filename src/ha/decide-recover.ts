/**
 * Pure: PostgreSQL is not accepting connections. Restart it in the role the cluster needs: the
 * lock holder restarts as primary for up to primary_start_timeout, then gives the lock up; others
 * start as standbys, rewinding first when they may have diverged from the leader.
 */
import type { ClusterSnapshot } from '../store/types.js';
import { decision, type Decision } from './actions.js';
import type { View } from './view.js';

export function recover(v: View, c: ClusterSnapshot): Decision {
  const leader = c.leader?.name ?? null;
  const l = v.local;
  const downFor = l.downSince === null ? 0 : v.now - l.downSince;
  const startTimeout = v.config.primaryStartTimeoutMs;

  if (leader === v.self) {
    const hungFor = l.hungSince === null ? 0 : v.now - l.hungSince;
    if (l.postmaster === 'starting' && l.hungSince !== null && hungFor >= v.config.primaryHangTimeoutMs) {
      // Killed before the lock goes: the moment another node may promote, this one cannot commit.
      return decision(
        `fencing: PostgreSQL has not committed my write probe for ${Math.round(hungFor / 1000)} s (primary_hang_timeout ${v.config.primaryHangTimeoutMs / 1000} s); killing it, then releasing the leader lock`,
        { type: 'fence' },
        { type: 'release_leader' },
      );
    }
    if (startTimeout === 0 || (l.downSince !== null && downFor >= startTimeout)) {
      const why = startTimeout === 0 ? 'primary_start_timeout is 0' : `it did not accept writes within ${startTimeout / 1000} s`;
      const stop = l.postmaster === 'starting' ? [{ type: 'demote', mode: 'immediate' } as const] : [];
      return decision(`releasing the leader lock: PostgreSQL crashed and ${why}`, ...stop, { type: 'release_leader' });
    }
    if (l.postmaster === 'starting') return decision('waiting for PostgreSQL to accept writes; keeping the leader lock', { type: 'refresh_leader' });
    return decision('restarting PostgreSQL as primary: it is down and I hold the leader lock', { type: 'refresh_leader' }, { type: 'start', as: 'primary', upstream: null });
  }

  if (l.postmaster === 'starting') return decision('waiting for PostgreSQL to accept connections');

  if (leader !== null) {
    if (l.wasPrimary) return decision(`rejoining as a standby of ${leader}: rewinding first, I ran as a primary`, { type: 'rewind', from: leader });
    return decision(`starting as a standby of ${leader}`, { type: 'start', as: 'standby', upstream: leader });
  }

  // Nobody holds the lock. Only the last leader, starting fresh (not after its own crash), may
  // take it back directly; everyone else starts read-only and joins the election.
  const pending = c.failover?.value;
  const lastLeader = c.optime?.name === v.self;
  if (l.wasPrimary && lastLeader && l.downSince === null && !pending && !v.config.tags.nofailover) {
    return decision('starting as primary: I was the last leader and nobody holds the lock', { type: 'acquire_leader' }, { type: 'start', as: 'primary', upstream: null });
  }
  if (l.wasPrimary && l.downSince !== null) return decision('waiting for a new leader: my primary crashed and I gave up the lock');
  return decision('starting as a standby: no leader to follow yet', { type: 'start', as: 'standby', upstream: null });
}
