/**
 * The HA decision, pure: view in, actions out. No I/O, no clock, no randomness; time arrives as
 * `v.now`. The dispatcher reads on one screen; each situation has its own file. Every decision
 * starts by reaping a crashed instance's leftovers, holds back what a pause forbids, puts the
 * floating address where the situation wants it, and ends by keeping our registration and live status current in the store.
 */
import type { ClusterSnapshot, Registration } from '../store/types.js';
import { decision, type Action, type Decision } from './actions.js';
import { bootstrapOrClone } from './decide-bootstrap.js';
import { clusterOperation } from './decide-cluster-op.js';
import { leaderless } from './decide-leaderless.js';
import { led } from './decide-led.js';
import { whilePaused } from './decide-pause.js';
import { recover } from './decide-recover.js';
import { withVip } from './decide-vip.js';
import type { View } from './view.js';

export function decide(v: View): Decision {
  if (v.cluster.kind === 'snapshot' && v.cluster.removed.has(v.self)) return removed(v, v.cluster.removed.get(v.self)!.at);
  const d = withVip(v, clusterOperation(v) ?? whilePaused(v, situation(v)));
  // A crashed postmaster's orphaned backends can still commit: nothing goes before killing them.
  // Not while a long action runs: initdb's and pg_rewind's own postgres run in the data directory.
  const first: Action[] = v.local.orphans && !v.inFlight ? [{ type: 'reap' }] : [];
  const last: Action[] = v.cluster.kind === 'snapshot' ? [...registration(v, v.cluster), { type: 'publish_member' }] : [];
  return first.length + last.length ? decision(d.message, ...first, ...d.actions, ...last) : d;
}

function situation(v: View): Decision {
  if (v.cluster.kind === 'unavailable') return storeUnavailable(v);
  if (v.inFlight) return longActionInProgress(v);
  if (v.local.dataDir !== 'valid') return bootstrapOrClone(v, v.cluster);
  if (v.local.postmaster !== 'running') return recover(v, v.cluster);
  return v.cluster.leader === null ? leaderless(v, v.cluster) : led(v, v.cluster, v.cluster.leader.name);
}

/**
 * An operator removed this node: it neither registers nor publishes again, so it cannot rejoin by
 * mistake (a host restored from a backup, an agent restarted by systemd); its PostgreSQL stops.
 */
function removed(v: View, at: string): Decision {
  const why = `removed from the cluster by an operator at ${at}; not rejoining (pgwarden node readmit ${v.self} lets it back)`;
  if (v.local.postmaster !== 'stopped' && !v.inFlight) return decision(`stopping PostgreSQL: ${why}`, { type: 'demote', mode: 'graceful' });
  return decision(why);
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

/** Register (or update the registration) when the store's copy is missing or differs from ours. */
function registration(v: View, c: ClusterSnapshot): Action[] {
  const have = c.registry.get(v.self);
  const id = v.registration.id ?? have?.id ?? Math.max(0, ...[...c.registry.values()].map((r) => r.id)) + 1;
  const want: Registration = { ...v.registration, id };
  return have && sameRegistration(have, want) ? [] : [{ type: 'register', registration: want }];
}

function sameRegistration(a: Registration, b: Registration): boolean {
  const tagKeys = new Set([...Object.keys(a.tags), ...Object.keys(b.tags)]) as Set<keyof Registration['tags']>;
  return a.name === b.name && a.id === b.id && a.host === b.host && a.port === b.port && a.api_url === b.api_url && [...tagKeys].every((k) => a.tags[k] === b.tags[k]);
}
