/**
 * L12: the filesystem of the primary's data directory fills up (a file takes every free byte) for
 * 2 × ttl. PostgreSQL still answers reads but cannot store new rows; a standby on its own disk can.
 * The agent sees the full filesystem, the old primary is fenced, a standby takes over; once space
 * is freed the old node rejoins as a standby.
 */
import { primaryFaultScenario } from '../scenario.js';

export const L12 = primaryFaultScenario(
  'L12',
  "the primary's disk full for 2 × ttl",
  { what: 'disk full', inject: (c, primary) => c.fillDisk(primary, true), heal: (c, primary) => c.fillDisk(primary, false) },
  { diskMb: 512 },
);
