/**
 * Pure: PostgreSQL runs and nobody holds the leader lock. The best candidate (election.ts) takes
 * the lock, then promotes; a pending switchover restricts who may.
 */
import type { ClusterSnapshot } from '../store/types.js';
import { decision, type Action, type Decision } from './actions.js';
import { preference, rank, syncRefusal, type Candidate } from './election.js';
import { activeRequest } from './requests.js';
import type { View } from './view.js';

export function leaderless(v: View, c: ClusterSnapshot): Decision {
  const l = v.local;
  const req = activeRequest(v, c);

  if (req?.to && req.to !== v.self) return decision(`no action: waiting for ${req.to} to take over (${req.kind} requested)`);
  if (req?.kind === 'switchover' && req.from === v.self) return decision('no action: I am handing the leadership over (switchover)');
  if (req?.kind === 'failover' && req.force && req.to === v.self) {
    // The operator saw what may be lost and accepted it: the election rules are waived.
    return decision(
      'promoting on a forced failover: the operator accepted that commits beyond my position may be lost',
      { type: 'acquire_leader' },
      ...(l.role === 'primary' ? [] : [{ type: 'promote' } as const]),
      { type: 'clear_failover', revision: c.failover!.revision },
    );
  }

  const me: Candidate = { name: v.self, running: true, role: l.role, lsn: l.lsn, tags: v.config.tags, diskFull: l.diskFullSince !== null };
  const peers: Candidate[] = [...v.peers.values()]
    .filter((p) => p.reachable)
    .map((p) => ({ name: p.name, running: p.running, role: p.role, lsn: p.lsn, tags: p.tags, diskFull: p.diskFull }));
  const exclude = new Set(req?.kind === 'switchover' && req.from ? [req.from] : []);
  // A switchover target must hold everything the old primary wrote before it stopped.
  const maximumLag = req?.kind === 'switchover' ? 0n : v.config.maximumLagOnFailover;
  const sync = c.sync?.value ?? null;
  const { ranked, excluded } = rank([me, ...peers], { optimeLsn: c.optime?.lsn ?? null, maximumLag, exclude, sync });

  const myExclusion = excluded.find((e) => e.name === v.self);
  if (myExclusion) return decision(`no action: nobody holds the leader lock, but I may not take it: ${myExclusion.reason}`);
  const best = ranked[0];
  // A failover the operator addressed to us needs us eligible, not ranked first.
  if (best && best.name !== v.self && req?.to !== v.self) return decision(`no action: nobody holds the leader lock; ${best.name} is a better candidate (${preference(best, me)})`);
  if (l.role !== 'primary') {
    const positions = new Map([me, ...peers].filter((p) => p.running).map((p) => [p.name, p.lsn] as const));
    const notSure = syncRefusal(sync, v.self, positions);
    if (notSure) return decision(`no action: nobody holds the leader lock, but I may not take it: ${notSure}`);
  }

  const then: Action[] = l.role === 'primary' ? [] : [{ type: 'promote' }];
  if (c.failover) then.push({ type: 'clear_failover', revision: c.failover.revision });
  const what = l.role === 'primary' ? 'took the leader lock back: I am a running primary' : 'promoting after acquiring the leader lock';
  return decision(`${what}: nobody held it and I am the best candidate`, { type: 'acquire_leader' }, ...then);
}
