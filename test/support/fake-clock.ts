/** A Clock the test moves by hand: TTL tests on the memory store without real waiting. */
import type { Clock } from '../../src/util/clock.js';

export class FakeClock implements Clock {
  private t = 1_000_000;

  now(): number {
    return this.t;
  }

  advance(ms: number): void {
    this.t += ms;
  }

  async sleep(ms: number): Promise<void> {
    this.t += ms;
  }
}
