/**
 * Pure: while the operator has paused the cluster, nothing happens by itself: no election
 * (failover), no restart of a crashed instance, no rejoin of a crashed node, no fence of a hung or
 * full primary, no giving up of the lock. What an operator asks still runs (a switchover, and the
 * rejoin of the primary it stopped), and so does what keeps the cluster safe and visible: the
 * leader keeps its lock, a primary that cannot prove its lock still demotes (and its lease guard
 * still fences it), members keep publishing. Every decision's sentence says that it is paused.
 */
import type { ClusterSnapshot } from '../store/types.js';
import { decision, type Action, type Decision } from './actions.js';
import type { View } from './view.js';

/** What a withheld decision keeps: the lock and the leader's bookkeeping. */
const KEPT: ReadonlySet<Action['type']> = new Set(['refresh_leader', 'sync_slots', 'publish_optime']);

export function whilePaused(v: View, d: Decision): Decision {
  if (v.cluster.kind !== 'snapshot' || v.cluster.pause === null) return d;
  const c = v.cluster;
  if (!d.actions.some((a) => automatic(v, c, a))) return { ...d, message: `paused: ${d.message}` };
  const kept = d.actions.filter((a) => KEPT.has(a.type));
  // The leader keeps its lock even when what it wanted was to give it up: nobody may take over.
  const lock: Action[] = c.leader?.name === v.self && !kept.some((a) => a.type === 'refresh_leader') ? [{ type: 'refresh_leader' }] : [];
  return decision(`paused, so not acting: ${d.message} (pgwarden resume ends the pause)`, ...lock, ...kept);
}

/** An action the cluster would take by itself, as opposed to one an operator asked for. */
function automatic(v: View, c: ClusterSnapshot, a: Action): boolean {
  const switchover = c.failover?.value.kind === 'switchover';
  const crashed = v.local.downSince !== null;
  switch (a.type) {
    case 'acquire_leader':
      // An election; a first bootstrap, a requested switchover's target and the last leader
      // coming back in a cluster start are not failovers.
      return c.initialize !== null && !switchover && !(c.pause?.cluster === 'start' && c.optime?.name === v.self);
    case 'release_leader':
      return !switchover;
    case 'start':
    case 'rewind':
      // A stopped node coming back is the operator's (or a switchover's); a crashed one waits.
      return crashed || v.local.postmaster === 'running';
    case 'fence':
      return true;
    default:
      return false;
  }
}
