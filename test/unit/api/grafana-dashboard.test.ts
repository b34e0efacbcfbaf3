/**
 * docs/grafana-dashboard.json queries only metrics that pgwarden exports: every `pgwarden_*` name
 * in its expressions is registered by the agent's or the proxy's metrics.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { AgentMetrics } from '../../../src/api/agent-metrics.js';
import { ProxyMetrics } from '../../../src/proxy/metrics.js';

describe('docs/grafana-dashboard.json', () => {
  it('is JSON, and every metric it queries is one pgwarden exports', async () => {
    const dash = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../../docs/grafana-dashboard.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const exported = new Set<string>();
    for (const registry of [new AgentMetrics({ scope: 's', name: 'n' }).registry, new ProxyMetrics('p').registry]) {
      for (const m of await registry.getMetricsAsJSON()) {
        exported.add(m.name);
        if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(`${m.name}${suffix}`);
      }
    }
    const queried = new Set(dash.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/pgwarden_[a-z_]+/g) ?? [])));
    assert.ok(queried.size >= 15, `the dashboard queries ${queried.size} metrics`);
    for (const name of queried) assert.ok(exported.has(name), `${name} is not exported`);
  });
});
