/**
 * The agent's Prometheus metrics (GET /metrics): gauges read from the agent's last view when
 * scraped, counters and the loop-duration histogram fed by the HA loop as it goes (HaMonitor).
 * Names are `pgwarden_*` with their unit in the name.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Agent } from '../ha/agent.js';
import type { Decision } from '../ha/actions.js';
import type { HaMonitor } from '../ha/deps.js';
import type { View } from '../ha/view.js';
import type { EventKind } from '../store/types.js';
import { lagBytes } from '../util/lsn.js';

const ROLES = ['primary', 'standby', 'unknown'] as const;

export class AgentMetrics implements HaMonitor {
  readonly registry = new Registry();
  private agent: Agent | null = null;
  private readonly loop: Histogram;
  private readonly decisions: Counter;
  private readonly actions: Counter;
  private readonly events: Counter;
  private readonly promotions: Counter;

  constructor(labels: { scope: string; name: string }) {
    const r = this.registry;
    r.setDefaultLabels(labels);
    const self = () => this.agent?.status() ?? null;
    const gauge = (name: string, help: string, read: (g: Gauge) => void, labelNames: string[] = []) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [r],
        collect() {
          this.reset();
          read(this);
        },
      });
    gauge('pgwarden_leader_held', '1 while this node holds the leader lock', (g) => g.set(self()?.isLeader ? 1 : 0));
    gauge('pgwarden_lease_remaining_seconds', 'time the leader lock stays ours without a renewal (absent when not held)', (g) => {
      const ms = self()?.leaseRemainingMs;
      if (ms !== null && ms !== undefined) g.set(ms / 1000);
    });
    gauge(
      'pgwarden_role',
      '1 for the role PostgreSQL runs as on this node',
      (g) => {
        const role = self()?.view?.local.role ?? 'unknown';
        for (const x of ROLES) g.set({ role: x }, x === role ? 1 : 0);
      },
      ['role'],
    );
    gauge('pgwarden_postgres_running', '1 while the local PostgreSQL runs', (g) => g.set(self()?.view?.local.postmaster === 'running' ? 1 : 0));
    gauge('pgwarden_timeline', "the local PostgreSQL's timeline", (g) => {
      const tl = self()?.view?.local.timeline;
      if (tl !== null && tl !== undefined) g.set(tl);
    });
    gauge('pgwarden_wal_position_bytes', 'the local WAL position (written on a primary, received on a standby)', (g) => {
      const lsn = self()?.view?.local.lsn;
      if (lsn !== null && lsn !== undefined) g.set(Number(lsn));
    });
    gauge(
      'pgwarden_replication_lag_bytes',
      "on a primary: each connected standby's replay position behind this primary's WAL (pg_stat_replication, last cycle)",
      (g) => {
        const sql = self()?.sql;
        if (!sql || sql.inRecovery) return;
        for (const row of sql.replication) if (row.replay_lsn !== null) g.set({ member: row.application_name }, Number(lagBytes(sql.lsn, row.replay_lsn)));
      },
      ['member'],
    );
    gauge(
      'pgwarden_synchronous_standby',
      '1 for each member in the synchronous set the leader recorded',
      (g) => {
        const c = self()?.view?.cluster;
        const sync = c?.kind === 'snapshot' && c.sync?.value.leader === c.leader?.name ? c.sync?.value : undefined;
        if (c?.kind !== 'snapshot') return;
        for (const name of c.registry.keys()) if (name !== c.leader?.name) g.set({ member: name }, sync?.members.includes(name) ? 1 : 0);
      },
      ['member'],
    );
    gauge('pgwarden_clone_done_bytes', 'bytes of the base backup this node is receiving', (g) => {
      const copy = this.agent?.cloneStatus();
      if (copy) g.set(copy.done_bytes);
    });
    gauge('pgwarden_clone_total_bytes', "pg_basebackup's estimate of the whole copy", (g) => {
      const copy = this.agent?.cloneStatus();
      if (copy) g.set(copy.total_bytes);
    });
    this.loop = new Histogram({
      name: 'pgwarden_loop_duration_seconds',
      help: 'one HA cycle: observe, decide, execute',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [r],
    });
    this.decisions = new Counter({ name: 'pgwarden_decisions_total', help: "decisions by their first action ('none': nothing to do)", labelNames: ['kind'], registers: [r] });
    this.actions = new Counter({ name: 'pgwarden_actions_total', help: 'actions decided, by type', labelNames: ['action'], registers: [r] });
    this.events = new Counter({ name: 'pgwarden_events_total', help: 'events this agent recorded, by kind', labelNames: ['kind'], registers: [r] });
    this.promotions = new Counter({
      name: 'pgwarden_promotions_total',
      help: "promotions of this node: 'requested' (switchover, operator's failover) or 'election' (automatic failover)",
      labelNames: ['cause'],
      registers: [r],
    });
  }

  /** The agent the gauges read (built after these metrics: the agent is told where to report). */
  bind(agent: Agent): void {
    this.agent = agent;
  }

  cycle(ms: number, decision: Decision): void {
    this.loop.observe(ms / 1000);
    this.decisions.inc({ kind: decision.actions[0]?.type ?? 'none' });
    for (const a of decision.actions) this.actions.inc({ action: a.type });
  }

  event(kind: EventKind, view: View | null): void {
    this.events.inc({ kind });
    if (kind === 'promoted') this.promotions.inc({ cause: view?.cluster.kind === 'snapshot' && view.cluster.failover ? 'requested' : 'election' });
  }
}
