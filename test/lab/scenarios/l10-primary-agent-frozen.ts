/**
 * L10: the primary's agent frozen (SIGSTOP) for 2 × ttl: it can neither renew the lock nor demote.
 * Its lease guard kills PostgreSQL before the lock may expire; resumed, the agent finds its primary
 * gone, records the fence and rejoins as a standby.
 */
import { primaryFaultScenario } from '../scenario.js';

export const L10 = primaryFaultScenario('L10', "the primary's agent frozen (SIGSTOP) for 2 × ttl", {
  what: 'agent frozen',
  inject: (c, primary) => c.freezeAgent(primary, true),
  heal: (c, primary) => c.freezeAgent(primary, false),
});
