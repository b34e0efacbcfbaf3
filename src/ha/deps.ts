/**
 * What the I/O half of the HA loop (observe, execute, agent) is built from: interfaces only; the
 * composition root (src/compose/agent.ts) passes the concrete store, instance and clock.
 */
import type { HttpTls } from '../client/http.js';
import type { LocalInstance } from '../postgres/controller.js';
import type { StateStore } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { FloatingIp } from '../vip/floating-ip.js';
import type { Callbacks } from './callbacks.js';
import type { EventKind } from '../store/types.js';
import type { Decision } from './actions.js';
import type { HaConfig, View } from './view.js';

export interface HaDeps {
  /** This member's name. */
  readonly name: string;
  readonly config: HaConfig;
  readonly store: StateStore;
  readonly pg: LocalInstance;
  readonly clock: Clock;
  readonly log: Logger;
  /** The leader's floating address, when configured. */
  readonly vip?: FloatingIp | undefined;
  /** The operator's scripts run on role changes, when configured. */
  readonly callbacks?: Callbacks | undefined;
  /** How the other agents' APIs are reached (api.tls); null: plain HTTP. */
  readonly peerTls?: HttpTls | null;
  /** Told what the loop does as it goes (GET /metrics); optional. */
  readonly monitor?: HaMonitor | undefined;
}

/** What the HA loop reports as it goes: each cycle with its decision, each event it records. */
export interface HaMonitor {
  cycle(ms: number, decision: Decision): void;
  event(kind: EventKind, view: View | null): void;
}
