/**
 * What the I/O half of the HA loop (observe, execute, agent) is built from: interfaces only; the
 * composition root (src/compose/agent.ts) passes the concrete store, instance and clock.
 */
import type { LocalInstance } from '../postgres/controller.js';
import type { StateStore } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { HaConfig } from './view.js';

export interface HaDeps {
  /** This member's name. */
  readonly name: string;
  readonly config: HaConfig;
  readonly store: StateStore;
  readonly pg: LocalInstance;
  readonly clock: Clock;
  readonly log: Logger;
}
