/**
 * Deadlines. Every wait in pgwarden has one, and says what it waited for when it runs out.
 */
import { systemClock, type Clock } from './clock.js';
import { errorMessage } from './errors.js';

export class TimeoutError extends Error {
  constructor(what: string, ms: number, last?: string) {
    super(`timed out after ${ms} ms waiting for ${what}${last ? ` (last: ${last})` : ''}`);
    this.name = 'TimeoutError';
  }
}

/** An AbortSignal that fires after `ms`, or when `parent` fires. */
export function deadlineSignal(ms: number, parent?: AbortSignal): AbortSignal {
  // AbortSignal.timeout wants a whole, positive number of milliseconds.
  const timeout = AbortSignal.timeout(Math.max(1, Math.ceil(ms)));
  return parent ? AbortSignal.any([parent, timeout]) : timeout;
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  clock?: Clock;
  signal?: AbortSignal;
}

/**
 * Polls `check` until it returns a value other than undefined/false. Errors thrown by `check` count
 * as "not yet" and the last one is quoted in the timeout message.
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, opts: WaitOptions): Promise<T> {
  const clock = opts.clock ?? systemClock;
  const start = clock.now();
  for (;;) {
    const tried = await Promise.resolve()
      .then(check)
      .then(
        (value) => ({ value, error: '' }),
        (err: unknown) => ({ value: undefined, error: errorMessage(err) }),
      );
    if (tried.value !== undefined && tried.value !== false) return tried.value;
    if (clock.now() - start >= opts.timeoutMs) throw new TimeoutError(what, opts.timeoutMs, tried.error);
    await clock.sleep(opts.intervalMs ?? 100, opts.signal);
  }
}
