/** A Clock the test moves by hand: TTL tests on the memory store, HA cycles, without real waiting. */
import type { Clock } from '../../src/util/clock.js';

export class FakeClock implements Clock {
  private t = 1_000_000;
  private w = Date.parse('2026-11-21T12:00:00Z');

  now(): number {
    return this.t;
  }

  wall(): number {
    return this.w;
  }

  advance(ms: number): void {
    this.t += ms;
    this.w += ms;
  }

  /** Time passes at once by `ms`, unless the signal already fired. */
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.advance(ms);
  }
}
