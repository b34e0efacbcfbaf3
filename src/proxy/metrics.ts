/**
 * The proxy's Prometheus metrics (GET /metrics on its admin port). The relay's hot path only adds
 * to two numbers on its session; everything else is read when scraped.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Proxy, ProxyMonitor } from './proxy.js';
import type { RefusalReason } from './session.js';

export class ProxyMetrics implements ProxyMonitor {
  readonly registry = new Registry();
  private proxy: Proxy | null = null;
  private readonly refusals: Counter;
  private readonly waits: Histogram;

  constructor(name: string) {
    const r = this.registry;
    r.setDefaultLabels({ proxy: name });
    const proxy = () => this.proxy;
    new Gauge({
      name: 'pgwarden_proxy_sessions',
      help: 'client sessions open, by port and backend (none: not relayed yet)',
      labelNames: ['port', 'backend'],
      registers: [r],
      collect() {
        this.reset();
        const by = new Map<string, number>();
        for (const s of proxy()?.traffic().live ?? []) {
          const key = `${s.port}\0${s.backend ?? 'none'}`;
          by.set(key, (by.get(key) ?? 0) + 1);
        }
        for (const [key, n] of by) {
          const [port = '', backend = ''] = key.split('\0');
          this.set({ port, backend }, n);
        }
      },
    });
    // A counter read from totals: each scrape adds what was relayed since the last one.
    const reported = new Map<string, number>();
    new Counter({
      name: 'pgwarden_proxy_relayed_bytes_total',
      help: 'bytes relayed, by direction (in: client to server) and backend',
      labelNames: ['direction', 'backend'],
      registers: [r],
      collect() {
        const t = proxy()?.traffic();
        if (!t) return;
        const totals = new Map<string, number>();
        const add = (backend: string, bytesIn: number, bytesOut: number) => {
          totals.set(`in\0${backend}`, (totals.get(`in\0${backend}`) ?? 0) + bytesIn);
          totals.set(`out\0${backend}`, (totals.get(`out\0${backend}`) ?? 0) + bytesOut);
        };
        for (const s of t.live) if (s.backend) add(s.backend, s.bytesIn, s.bytesOut);
        for (const [backend, e] of t.ended) add(backend, e.bytesIn, e.bytesOut);
        for (const [key, total] of totals) {
          const delta = total - (reported.get(key) ?? 0);
          const [direction = '', backend = ''] = key.split('\0');
          if (delta > 0) this.inc({ direction, backend }, delta);
          reported.set(key, total);
        }
      },
    });
    new Gauge({
      name: 'pgwarden_proxy_backend_up',
      help: '1 for each backend the proxy routes to, by role; 0 when down or detached',
      labelNames: ['backend', 'role', 'status'],
      registers: [r],
      collect() {
        this.reset();
        for (const n of proxy()?.routes().nodes ?? []) this.set({ backend: n.name, role: n.role, status: n.status }, n.status === 'up' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'pgwarden_proxy_backend_lag_bytes',
      help: "each standby's replay lag behind the primary, as the health checks see it",
      labelNames: ['backend'],
      registers: [r],
      collect() {
        this.reset();
        for (const n of proxy()?.routes().nodes ?? []) if (n.lagBytes !== null) this.set({ backend: n.name }, n.lagBytes);
      },
    });
    this.refusals = new Counter({
      name: 'pgwarden_proxy_refused_connections_total',
      help: 'client connections ended before being relayed, by reason',
      labelNames: ['reason'],
      registers: [r],
    });
    this.waits = new Histogram({
      name: 'pgwarden_proxy_failover_wait_seconds',
      help: 'how long new read-write sessions waited for a primary',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [r],
    });
  }

  bind(proxy: Proxy): void {
    this.proxy = proxy;
  }

  refused(reason: RefusalReason): void {
    this.refusals.inc({ reason });
  }

  waitedForPrimary(ms: number): void {
    this.waits.observe(ms / 1000);
  }
}
