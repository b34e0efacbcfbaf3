/**
 * L12: the filesystem of the primary's data directory fills up (a file takes every free byte) for
 * 2 × ttl. PostgreSQL still answers reads but cannot commit new rows; a standby on its own disk can.
 * The agent's write probe proves it, the old primary is fenced, a standby takes over; once space is
 * freed the old node rejoins as a standby.
 */
import { failPrimary, type Scenario } from '../scenario.js';

export const L12: Scenario = {
  id: 'L12',
  title: "the primary's disk full for 2 × ttl",
  dbHosts: 3,
  diskMb: 512,
  run: (c, ctx) =>
    failPrimary(c, ctx, {
      what: 'disk full',
      holdMs: 2 * c.timing.ttl * 1000,
      inject: (c, primary) => c.fillDisk(primary, true),
      heal: (c, primary) => c.fillDisk(primary, false),
    }),
};
