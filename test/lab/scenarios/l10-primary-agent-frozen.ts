/**
 * L10: the primary's agent frozen (SIGSTOP) for 2 × ttl: it can neither renew the lock nor demote.
 * Its lease guard kills PostgreSQL before the lock may expire; resumed, the agent finds its primary
 * gone, records the fence and rejoins as a standby.
 */
import { failPrimary, type Scenario } from '../scenario.js';

export const L10: Scenario = {
  id: 'L10',
  title: "the primary's agent frozen (SIGSTOP) for 2 × ttl",
  dbHosts: 3,
  run: (c, ctx) =>
    failPrimary(c, ctx, {
      what: 'agent frozen',
      holdMs: 2 * c.timing.ttl * 1000,
      inject: (c, primary) => c.freezeAgent(primary, true),
      heal: (c, primary) => c.freezeAgent(primary, false),
    }),
};
