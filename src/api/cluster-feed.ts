/**
 * The dashboard's live feed: one producer per agent, however many pages watch. It rebuilds the
 * cluster report when the store changes (and every `refreshMs` for lag and live state) and sends
 * it to every subscriber only when it changed: the browsers never poll.
 */
import type { StateStore } from '../store/store.js';
import { deadlineSignal } from '../util/deadline.js';
import { errorMessage } from '../util/errors.js';
import { buildClusterReport, type Prober } from './cluster-view.js';

/** One server-sent event: `data:` lines of one JSON document. */
export type Send = (frame: string) => void;

export interface FeedOptions {
  readonly store: StateStore;
  readonly prober: Prober;
  readonly timeoutMs: number;
  readonly refreshMs: number;
  /** At most one rebuild this often: a burst of store changes (members publish every loop) makes one. */
  readonly minGapMs: number;
  /** How many events each frame carries, newest last. */
  readonly events: number;
  /** Subscribers at once (an unauthenticated resource, so bounded). */
  readonly maxSubscribers: number;
}

export class ClusterFeed {
  private readonly subscribers = new Set<Send>();
  private last: string | null = null;
  private running: AbortController | null = null;
  private dirty = false;
  private busy = false;
  private lastStart = 0;
  private deferred: NodeJS.Timeout | null = null;

  constructor(private readonly o: FeedOptions) {}

  /** Whether one more subscriber may come. */
  hasRoom(): boolean {
    return this.subscribers.size < this.o.maxSubscribers;
  }

  /** Adds a subscriber (check hasRoom first), who gets the latest frame at once. Returns its unsubscribe. */
  subscribe(send: Send): () => void {
    if (!this.hasRoom()) throw new Error('the dashboard feed is full');
    this.subscribers.add(send);
    if (this.last !== null) send(this.last);
    if (!this.running) this.start();
    return () => {
      this.subscribers.delete(send);
      if (this.subscribers.size === 0) this.stop();
    };
  }

  /** Ends the producer and forgets every subscriber (the server is closing). */
  close(): void {
    this.subscribers.clear();
    this.stop();
  }

  private start(): void {
    const ctl = (this.running = new AbortController());
    const timer = setInterval(() => this.refresh(), this.o.refreshMs);
    ctl.signal.addEventListener('abort', () => clearInterval(timer));
    void this.watch(ctl.signal);
    this.refresh();
  }

  private stop(): void {
    if (this.deferred) clearTimeout(this.deferred);
    this.deferred = null;
    this.running?.abort();
    this.running = null;
    this.last = null;
  }

  private async watch(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        for await (const _ of this.o.store.watch(signal)) this.refresh();
      } catch {
        // The store is away: the timer keeps refreshing (and reports it); reopen after a pause.
      }
      await new Promise((r) => setTimeout(r, this.o.refreshMs));
    }
  }

  /** One rebuild at a time, minGapMs apart; a change during a rebuild asks for one more after it. */
  private refresh(): void {
    if (this.busy) {
      this.dirty = true;
      return;
    }
    const wait = this.lastStart + this.o.minGapMs - Date.now();
    if (wait > 0) {
      this.deferred ??= setTimeout(() => {
        this.deferred = null;
        if (this.running) this.refresh();
      }, wait);
      return;
    }
    this.busy = true;
    this.lastStart = Date.now();
    void this.frame()
      .then((frame) => {
        if (frame === this.last || !this.running) return;
        this.last = frame;
        for (const send of this.subscribers) send(frame);
      })
      .finally(() => {
        this.busy = false;
        if (this.dirty && this.running) {
          this.dirty = false;
          this.refresh();
        }
      });
  }

  private async frame(): Promise<string> {
    try {
      const snap = await this.o.store.load(deadlineSignal(this.o.timeoutMs));
      const [cluster, events] = await Promise.all([buildClusterReport(snap, this.o.prober), this.o.store.events(this.o.events, deadlineSignal(this.o.timeoutMs))]);
      return JSON.stringify({ cluster, events, error: null });
    } catch (err) {
      return JSON.stringify({ cluster: null, events: [], error: `cannot read the cluster state: ${errorMessage(err)}` });
    }
  }
}
