/**
 * Pure: PostgreSQL runs and someone holds the leader lock. If it is us, keep it (or hand it over
 * for a switchover); if it is another node, never accept writes and follow it.
 */
import type { ClusterSnapshot, FailoverRequest } from '../store/types.js';
import { lagBytes } from '../util/lsn.js';
import { decision, type Action, type Decision } from './actions.js';
import { switchoverTarget, type SwitchoverCandidate } from './election.js';
import { activeRequest } from './requests.js';
import { syncStep } from './sync.js';
import type { View } from './view.js';

/** A standby that cannot stream from a leader on a newer timeline for this long has diverged. */
export const REWIND_AFTER_MS = 5_000;

export function led(v: View, c: ClusterSnapshot, leader: string): Decision {
  return leader === v.self ? leading(v, c) : following(v, c, leader);
}

function leading(v: View, c: ClusterSnapshot): Decision {
  const { lease, local } = v;
  if (lease.lastAttemptFailed && local.role === 'primary') {
    return decision('demoting: I could not refresh the leader lock; another node may take it', { type: 'demote', mode: 'immediate' });
  }
  if (lease.mine && v.now >= lease.validUntil && local.role === 'primary') {
    return decision('demoting: the leader lock may have expired before I could refresh it', { type: 'demote', mode: 'immediate' });
  }
  if (local.role === 'standby') return decision('promoting: I hold the leader lock but run as a standby', { type: 'refresh_leader' }, { type: 'promote' });
  const full = diskFullHandover(v, c);
  if (full) return full;

  const req = activeRequest(v, c);
  if (req?.kind === 'switchover' && req.from === v.self) {
    const target = switchoverTarget(standbysOf(v.self, c), req.to);
    if (typeof target === 'string') return decision(`switchover refused: ${target}`, { type: 'refresh_leader' }, { type: 'clear_failover', revision: c.failover!.revision });
    return handOver(v, c.failover!.revision, req, target.name);
  }
  const actions: Action[] = [{ type: 'refresh_leader' }, { type: 'sync_slots' }, { type: 'publish_optime' }];
  if (c.initialize === null) actions.push({ type: 'record_initialize' });
  const sync = syncStep(v, c);
  if (sync) actions.push(sync);
  // A request not addressed to us (done, stale, or meant for a leader that is gone) is cleared.
  if (c.failover && !(req?.from === v.self)) actions.push({ type: 'clear_failover', revision: c.failover.revision });
  return decision(`no action: I am ${v.self}, the leader with the lock`, ...actions);
}

/**
 * A primary whose data directory's filesystem has been full for primary_hang_timeout answers reads
 * but cannot take writes; a streaming standby with room can. It is fenced (killed, so nothing can
 * commit on it after the lock goes) and gives the lock up, as a hung primary does. With no standby
 * able to take over, it stays: a full disk everywhere is the operator's to fix.
 */
function diskFullHandover(v: View, c: ClusterSnapshot): Decision | null {
  const since = v.local.diskFullSince;
  if (since === null || v.now - since < v.config.primaryHangTimeoutMs) return null;
  const roomy = [...c.members.values()].filter(
    (m) => m.name !== v.self && m.role === 'standby' && m.state === 'running' && m.streaming && !m.disk_full && !c.registry.get(m.name)?.tags.nofailover,
  );
  if (roomy.length === 0) return null;
  return decision(
    `fencing: the filesystem of my data directory has been full for ${Math.round((v.now - since) / 1000)} s (primary_hang_timeout ${v.config.primaryHangTimeoutMs / 1000} s) and ${roomy.map((m) => m.name).join(', ')} can take writes; killing PostgreSQL, then releasing the leader lock`,
    { type: 'fence' },
    { type: 'release_leader' },
  );
}

/**
 * A switchover in three steps: announce the drain (proxies send no new work here and close idle
 * sessions), let open transactions finish for up to the request's drain timeout, then stop
 * cleanly (the target receives every commit) and release the lock.
 */
function handOver(v: View, revision: number, req: FailoverRequest, target: string): Decision {
  const drainMs = (req.drain_timeout_s ?? 0) * 1000;
  if (req.draining_since_ms === undefined) {
    return decision(
      `switching over to ${target}: draining; open transactions get up to ${drainMs / 1000} s`,
      { type: 'refresh_leader' },
      // The target is pinned: the election after the handover promotes the node the event named.
      { type: 'start_drain', revision, request: { ...req, to: target, draining_since_ms: v.wallNow } },
    );
  }
  const open = v.local.openTransactions;
  const left = drainMs - (v.wallNow - req.draining_since_ms);
  if (open > 0 && left > 0) {
    return decision(`switching over to ${target}: waiting for ${open} open transaction(s) to finish (${Math.ceil(left / 1000)} s left)`, { type: 'refresh_leader' });
  }
  const drained = open > 0 ? `drain timeout passed, ${open} open transaction(s) are cut` : 'drained';
  return decision(
    `switching over to ${target}: ${drained}; stopping cleanly so it receives every commit, then releasing the lock`,
    { type: 'refresh_leader' },
    { type: 'demote', mode: 'graceful' },
    { type: 'release_leader' },
  );
}

/** Every other registered member as a switchover candidate, from what the store shows of it. */
function standbysOf(self: string, c: ClusterSnapshot): SwitchoverCandidate[] {
  return [...c.registry.values()]
    .filter((r) => r.name !== self)
    .map((r) => {
      const m = c.members.get(r.name);
      const role = m?.role === 'primary' || m?.role === 'standby' ? m.role : null;
      return { name: r.name, running: m?.state === 'running', role, lsn: m?.lsn ?? null, tags: r.tags, streaming: m?.streaming ?? false };
    });
}

function following(v: View, c: ClusterSnapshot, leader: string): Decision {
  const l = v.local;
  if (l.role === 'primary') return decision(`demoting: ${leader} holds the leader lock, so I must not accept writes`, { type: 'demote', mode: 'immediate' });
  if (l.upstream !== leader) return decision(`following ${leader}, the new leader`, { type: 'follow', leader });
  // Slots for the other members here too, so they can follow us at once if we are promoted.
  const slots: Action = { type: 'sync_slots' };
  if (l.streaming) {
    const leaderLsn = c.members.get(leader)?.lsn ?? null;
    const lag = leaderLsn !== null && l.lsn !== null ? lagBytes(leaderLsn, l.lsn) : null;
    return decision(`no action: streaming from ${leader}${lag !== null ? ` (lag ${lag} bytes)` : ''}`, slots);
  }
  // Neither a rewind nor a restart gives back the room streaming needs: that is the operator's.
  if (l.diskFullSince !== null) return decision(`no action: following ${leader}, not streaming: my data directory's filesystem is full`);
  const leaderTimeline = c.members.get(leader)?.timeline ?? null;
  const stalled = l.notStreamingSince !== null ? v.now - l.notStreamingSince : 0;
  if (leaderTimeline !== null && l.timeline !== null && leaderTimeline > l.timeline && stalled >= REWIND_AFTER_MS) {
    return decision(`rewinding: not streaming from ${leader} for ${Math.round(stalled / 1000)} s and its timeline ${leaderTimeline} is ahead of mine (${l.timeline})`, {
      type: 'rewind',
      from: leader,
    });
  }
  return decision(`no action: following ${leader}, not streaming yet`, slots);
}
