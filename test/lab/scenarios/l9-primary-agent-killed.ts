/**
 * L9: the primary's agent killed (kill -9) while PostgreSQL runs on, with clients connected to it
 * directly. Its lease guard kills PostgreSQL before the lock may expire, so no client can commit on
 * it once a standby is promoted. The agent is started again after 2 × ttl: it re-attaches to its
 * guard, records the fence, and rejoins as a standby.
 */
import { primaryFaultScenario } from '../scenario.js';

export const L9 = primaryFaultScenario('L9', "the primary's agent killed (kill -9), PostgreSQL left running", {
  what: 'agent killed',
  inject: (c, primary) => c.killAgent(primary),
  heal: (c, primary) => c.startAgent(primary),
});
