/**
 * Time. The HA loop measures leases and timeouts on a monotonic clock so that a wall-clock step
 * (NTP, a VM pause being corrected) can never extend a lease. Wall time is used only for display.
 */
export interface Clock {
  /** Monotonic milliseconds; only differences are meaningful. */
  now(): number;
  /** Wall-clock milliseconds since the epoch: for timestamps other hosts read, never for leases. */
  wall(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * CLOCK_MONOTONIC in milliseconds: one origin for every process of the host (performance.now()
 * counts from each process's start), so a deadline can be handed to another process (the lease guard).
 */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export const systemClock: Clock = {
  now: monotonicMs,
  wall: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
