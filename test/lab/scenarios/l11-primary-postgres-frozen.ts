/**
 * L11: every process of the primary's PostgreSQL frozen (SIGSTOP) for 2 × ttl while its agent and
 * network stay up. The agent's write probe gets no answer; after primary_hang_timeout it kills the
 * instance and only then releases the lock, so the old primary is fenced before a standby is
 * promoted. Writes come back on a standby within ttl + 3 s; the old node rejoins as a standby.
 */
import { assertThat, primaryFaultScenario } from '../scenario.js';

export const L11 = primaryFaultScenario('L11', "the primary's PostgreSQL frozen for 2 × ttl (agent and network up)", {
  what: 'PostgreSQL frozen',
  inject(c, primary) {
    assertThat(c.freezePostgres(primary, true).length > 3, `${primary}: the instance's processes were not found`);
  },
  // Resuming finds nothing left to resume: the instance was killed.
  heal: (c, primary) => void c.freezePostgres(primary, false),
});
