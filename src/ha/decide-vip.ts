/**
 * Pure: the floating address follows the writable leader. It is held by the node that holds the
 * leader lock and runs (or is this cycle made to run) PostgreSQL as a primary, and by nobody else.
 * A removal goes first in a decision, before any demotion or release of the lock; an add goes last,
 * after the promotion (or restart) it depends on, so it happens only if that succeeded. There is
 * no preemption by construction: the address never looks at who held it before.
 */
import type { Action, Decision } from './actions.js';
import type { View } from './view.js';

const GIVING_UP: ReadonlySet<Action['type']> = new Set(['release_leader', 'demote', 'fence']);

export function withVip(v: View, d: Decision): Decision {
  if (v.vip === null) return d;
  const why = reasonToHold(v, d.actions);
  if (why === null && v.vip.held !== false) return { ...d, actions: [{ type: 'drop_vip', reason: reasonToDrop(v, d.actions) }, ...d.actions] };
  if (why !== null && v.vip.held !== true) return { ...d, actions: [...d.actions, { type: 'hold_vip', reason: why }] };
  return d;
}

/** Why this node should hold the address after this decision, or null when it must not. */
function reasonToHold(v: View, actions: readonly Action[]): string | null {
  if (v.cluster.kind !== 'snapshot') return null;
  // A refresh in this decision proves the lock before the add at the end runs (or the add is skipped).
  const renewing = actions.some((a) => a.type === 'acquire_leader' || a.type === 'refresh_leader');
  const leading = renewing || (v.cluster.leader?.name === v.self && v.lease.mine);
  if (!leading || actions.some((a) => GIVING_UP.has(a.type))) return null;
  if (actions.some((a) => a.type === 'promote')) return 'promoted: I hold the leader lock';
  if (actions.some((a) => a.type === 'start' && a.as === 'primary')) return 'PostgreSQL started as primary: I hold the leader lock';
  return v.local.role === 'primary' && v.local.postmaster !== 'stopped' ? 'I hold the leader lock and run the primary' : null;
}

function reasonToDrop(v: View, actions: readonly Action[]): string {
  if (v.cluster.kind !== 'snapshot') return 'the store is unreachable: I cannot prove I hold the leader lock';
  const leader = v.cluster.leader?.name ?? null;
  if (leader === v.self && actions.some((a) => GIVING_UP.has(a.type))) return 'giving the leader lock up';
  if (leader === v.self) return v.lease.mine ? 'PostgreSQL does not run as a primary' : 'I have not renewed the leader lock';
  return leader === null ? 'nobody holds the leader lock' : `${leader} holds the leader lock`;
}
