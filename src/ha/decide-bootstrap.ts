/**
 * Pure: a node with an empty data directory either bootstraps a new cluster (it won the leader
 * race and nobody initialized one) or clones from the leader (or from a standby tagged clonefrom).
 */
import type { ClusterSnapshot } from '../store/types.js';
import { decision, type Decision } from './actions.js';
import type { View } from './view.js';

export function bootstrapOrClone(v: View, c: ClusterSnapshot): Decision {
  const leader = c.leader?.name ?? null;
  if (leader === null) {
    if (c.initialize !== null) return decision('waiting for a leader to clone from: the cluster is initialized but nobody holds the lock');
    if (v.config.tags.nofailover) return decision('waiting for another member to bootstrap the cluster (I am tagged nofailover)');
    return decision('bootstrapping a new cluster: nobody has initialized it', { type: 'acquire_leader' }, { type: 'bootstrap' });
  }
  if (leader === v.self) return decision('releasing the leader lock: my data directory is empty', { type: 'release_leader' });
  const m = c.members.get(leader);
  if (m?.state !== 'running' || m.role !== 'primary') return decision(`waiting for leader ${leader} to run as primary before cloning from it`);
  const spare = cloneSource(v, c, leader);
  if (spare) return decision(`cloning from ${spare} (tagged clonefrom), then following leader ${leader}: my data directory is empty`, { type: 'clone', from: spare });
  return decision(`cloning from leader ${leader}: my data directory is empty`, { type: 'clone', from: leader });
}

/** A standby tagged clonefrom that streams from the leader spares the primary the copy; the first by name. */
function cloneSource(v: View, c: ClusterSnapshot, leader: string): string | null {
  const ok = [...c.registry.values()]
    .filter((r) => r.tags.clonefrom && r.name !== v.self && r.name !== leader)
    .filter((r) => {
      const m = c.members.get(r.name);
      return m?.state === 'running' && m.role === 'standby' && m.streaming && m.upstream === leader;
    })
    .map((r) => r.name)
    .sort();
  return ok[0] ?? null;
}
