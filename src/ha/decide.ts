/**
 * The HA decision, pure: view in, actions out. No I/O, no clock, no randomness; time arrives as
 * `v.now`. The dispatcher reads on one screen; each situation has its own file.
 */
import { decision, type Decision } from './actions.js';
import { bootstrapOrClone } from './decide-bootstrap.js';
import { leaderless } from './decide-leaderless.js';
import { led } from './decide-led.js';
import { recover } from './decide-recover.js';
import type { View } from './view.js';

export function decide(v: View): Decision {
  if (v.cluster.kind === 'unavailable') return storeUnavailable(v);
  if (v.inFlight) return longActionInProgress(v);
  if (v.local.dataDir !== 'valid') return bootstrapOrClone(v, v.cluster);
  if (v.local.postmaster !== 'running') return recover(v, v.cluster);
  return v.cluster.leader === null ? leaderless(v, v.cluster) : led(v, v.cluster, v.cluster.leader.name);
}

/** Without the store nobody can prove who leads: a primary fences itself, a standby carries on. */
function storeUnavailable(v: View): Decision {
  const why = v.cluster.kind === 'unavailable' ? v.cluster.error : '';
  if (v.inFlight) return decision(`${v.inFlight.kind} in progress; the store is unreachable (${why})`);
  if (v.local.postmaster !== 'stopped' && v.local.role === 'primary') {
    return decision(`demoting: the store is unreachable, so I cannot prove I hold the leader lock (${why})`, { type: 'demote', mode: 'immediate' });
  }
  if (v.local.postmaster === 'stopped' && v.local.dataDir === 'valid') {
    return decision('starting read-only: the store is unreachable', { type: 'start', as: 'standby', upstream: v.local.upstream });
  }
  return decision(`no action: the store is unreachable (${why}); PostgreSQL keeps running as a ${v.local.role}`);
}

function longActionInProgress(v: View): Decision {
  const f = v.inFlight!;
  const text = `${f.kind} in progress${f.progress ? ` (${f.progress})` : ''}`;
  if (v.cluster.kind === 'snapshot' && v.cluster.leader?.name === v.self) return decision(`${text}; keeping the leader lock`, { type: 'refresh_leader' });
  return decision(text);
}
