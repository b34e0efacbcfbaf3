/**
 * VIP1-VIP5: the floating address follows the leader lock through the faults of the keepalived
 * field report (postmaster killed, host power loss) and the agent's own (killed, frozen), each the
 * nemesis catalogue's fault on the primary. Each checks the address's invariants (vip.ts) and that
 * the old primary, once back, stays a standby without the address. The same faults with
 * keepalived as the field report sets it up: keepalived.ts.
 */
import { FAULTS } from '../faults.js';
import type { Scenario } from '../scenario.js';
import { vipFault, type VipFault } from '../vip.js';

function vipScenario(id: string, title: string, kind: string, f: Pick<VipFault, 'what' | 'moves' | 'holdMs'>, timing?: Scenario['timing']): Scenario {
  const fault = FAULTS.find((x) => x.kind === kind);
  if (!fault) throw new Error(`no fault ${kind} in the catalogue`);
  return { id, title, dbHosts: 3, vip: true, ...(timing ? { timing } : {}), run: (c, ctx) => vipFault(c, ctx, { ...f, inject: fault.inject, heal: fault.heal }) };
}

export const VIP1 = vipScenario(
  'VIP1',
  'postmaster kill -9 with primary_start_timeout 0: a standby is promoted and takes the address',
  'postmaster_kill',
  { what: 'postmaster killed (primary_start_timeout 0)', moves: true, holdMs: 5000 },
  { primary_start_timeout: 0 },
);

export const VIP2 = vipScenario('VIP2', 'postmaster kill -9 with the defaults: restarted in place, it keeps the address', 'postmaster_kill', {
  what: 'postmaster killed (primary_start_timeout 10 s)',
  moves: false,
  holdMs: 5000,
});

export const VIP3 = vipScenario('VIP3', "power loss of the primary's host: the address moves and the database behind it takes writes", 'power_loss', {
  what: 'power loss',
  moves: true,
});

export const VIP4 = vipScenario('VIP4', "the primary's agent killed (kill -9), PostgreSQL left running: address and writes follow the new leader", 'agent_kill', {
  what: 'agent killed',
  moves: true,
});

export const VIP5 = vipScenario('VIP5', "the primary's agent frozen (SIGSTOP) for 2 × ttl: address and writes follow the new leader", 'agent_freeze', {
  what: 'agent frozen',
  moves: true,
});
