/**
 * Cross-field timing rules. A leader refreshes its lock every loop_wait and may spend up to
 * retry_timeout on a failed attempt and another on the demotion itself; all of that must fit in the
 * lock's TTL or two primaries could overlap (the rule Patroni enforces).
 */
import { ConfigError } from '../util/errors.js';

export interface Timing {
  loop_wait: number;
  ttl: number;
  retry_timeout: number;
  primary_hang_timeout: number;
}

/** Returns the first broken rule as a ConfigError, or null. */
export function checkTiming(t: Timing): ConfigError | null {
  if (t.loop_wait < 0.1) return new ConfigError(['loop_wait'], `must be at least 0.1 s (got ${t.loop_wait})`);
  if (t.retry_timeout < 0.5) return new ConfigError(['retry_timeout'], `must be at least 0.5 s (got ${t.retry_timeout})`);
  if (t.ttl < 2) return new ConfigError(['ttl'], `must be at least 2 s (got ${t.ttl})`);
  if (t.loop_wait + 2 * t.retry_timeout > t.ttl) {
    return new ConfigError(['ttl'], `loop_wait + 2 × retry_timeout must not exceed ttl: ${t.loop_wait} + 2 × ${t.retry_timeout} = ${t.loop_wait + 2 * t.retry_timeout} > ${t.ttl}`);
  }
  if (t.primary_hang_timeout < t.retry_timeout) {
    return new ConfigError(
      ['primary_hang_timeout'],
      `must be at least retry_timeout (${t.retry_timeout} s), or one slow probe would count as a hang (got ${t.primary_hang_timeout})`,
    );
  }
  return null;
}
