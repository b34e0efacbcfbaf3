/**
 * VIP1-VIP5: the floating address follows the leader lock through the faults of the keepalived
 * field report (postmaster killed, host power loss) and the agent's own (killed, frozen). Each
 * checks the address's invariants (vip.ts) and that the old primary, once back, stays a standby
 * without the address. The same faults with keepalived as the field report set it up: keepalived.ts.
 */
import { vipFault } from '../vip.js';
import type { Scenario } from '../scenario.js';

export const VIP1: Scenario = {
  id: 'VIP1',
  title: 'postmaster kill -9 with primary_start_timeout 0: a standby is promoted and takes the address',
  dbHosts: 3,
  vip: true,
  timing: { primary_start_timeout: 0 },
  run: (c, ctx) =>
    vipFault(c, ctx, {
      what: 'postmaster killed (primary_start_timeout 0)',
      moves: true,
      holdMs: 5000,
      inject: (c, h) => void c.killPostgres(h),
      heal: () => {},
    }),
};

export const VIP2: Scenario = {
  id: 'VIP2',
  title: 'postmaster kill -9 with the defaults: restarted in place, it keeps the address',
  dbHosts: 3,
  vip: true,
  run: (c, ctx) =>
    vipFault(c, ctx, {
      what: 'postmaster killed (primary_start_timeout 10 s)',
      moves: false,
      holdMs: 5000,
      inject: (c, h) => void c.killPostgres(h),
      heal: () => {},
    }),
};

export const VIP3: Scenario = {
  id: 'VIP3',
  title: "power loss of the primary's host: the address moves and the database behind it takes writes",
  dbHosts: 3,
  vip: true,
  run: (c, ctx) =>
    vipFault(c, ctx, {
      what: 'power loss',
      moves: true,
      inject: (c, h) => c.lab.powerOff(h),
      heal(c, h) {
        c.lab.powerOn(h);
        c.startAgent(h);
      },
    }),
};

export const VIP4: Scenario = {
  id: 'VIP4',
  title: "the primary's agent killed (kill -9), PostgreSQL left running: address and writes follow the new leader",
  dbHosts: 3,
  vip: true,
  run: (c, ctx) =>
    vipFault(c, ctx, {
      what: 'agent killed',
      moves: true,
      inject: (c, h) => c.killAgent(h),
      heal: (c, h) => c.startAgent(h),
    }),
};

export const VIP5: Scenario = {
  id: 'VIP5',
  title: "the primary's agent frozen (SIGSTOP) for 2 × ttl: address and writes follow the new leader",
  dbHosts: 3,
  vip: true,
  run: (c, ctx) =>
    vipFault(c, ctx, {
      what: 'agent frozen',
      moves: true,
      inject: (c, h) => c.freezeAgent(h, true),
      heal: (c, h) => c.freezeAgent(h, false),
    }),
};
