/**
 * Pure: which switchover or failover request binds the decision now. A request whose target never
 * managed to take over is dropped after a while, so a dead target cannot block elections forever.
 */
import type { ClusterSnapshot, FailoverRequest } from '../store/types.js';
import type { View } from './view.js';

/** How long a switchover/failover request binds the election before it is ignored. */
export const REQUEST_TIMEOUT_MS = 30_000;

/** The pending request, unless it is stale. Ages are measured on the wall clock: requests are stamped by other hosts. */
export function activeRequest(v: View, c: ClusterSnapshot): FailoverRequest | null {
  const req = c.failover?.value ?? null;
  if (!req) return null;
  const age = v.wallNow - req.requested_at_ms;
  // A draining switchover may legitimately take its drain timeout longer.
  return age <= REQUEST_TIMEOUT_MS + (req.drain_timeout_s ?? 0) * 1000 ? req : null;
}
