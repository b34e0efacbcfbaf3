/**
 * Issue 16: GET /metrics on every agent's API and on the proxy's admin port, in Prometheus's
 * text format, on a `pgwarden up` cluster (three agents and the embedded proxy).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { httpCall } from '../../src/client/http.js';
import { waitFor } from '../../src/util/deadline.js';
import { memoryCluster, type ClusterHarness } from '../support/cluster.js';
import { sqlRows } from '../support/workload.js';

/** Every sample line of an exposition: name, labels, value. Throws on a line that is neither a sample nor a comment. */
function samples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/.exec(l);
      if (!m) throw new Error(`not a Prometheus sample line: ${l}`);
      const labels: Record<string, string> = {};
      for (const [, k, v] of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
      return { name: m[1]!, labels, value: Number(m[4]) };
    });
}

describe('Prometheus metrics of the agents and the proxy', { timeout: 180_000 }, () => {
  let c: ClusterHarness;
  before(async () => {
    c = await memoryCluster();
    await c.waitStable(90_000);
  });
  after(async () => {
    await c?.stop();
  });

  const scrape = async (url: string) => {
    const res = await httpCall(url, { timeoutMs: 5000, maxBytes: 4 << 20 });
    assert.equal(res.status, 200, url);
    return samples(res.text);
  };
  const value = (s: ReturnType<typeof samples>, name: string, labels: Record<string, string> = {}) =>
    s.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;

  it('each agent: role, leader lock, lease, timeline, WAL position, lag per standby, loop histogram, decisions', async () => {
    const r = await c.report();
    for (const m of r.members) {
      const leader = m.name === r.leader;
      // The gauges read the agent's last cycle (up to loop_wait behind what waitStable saw live).
      const s = await waitFor(
        `${m.name}'s metrics to show it running as ${leader ? 'the primary' : 'a standby'}`,
        async () => {
          const got = await scrape(`${m.api_url}/metrics`);
          const ok =
            value(got, 'pgwarden_leader_held', { name: m.name }) === (leader ? 1 : 0) &&
            value(got, 'pgwarden_role', { role: leader ? 'primary' : 'standby' }) === 1 &&
            value(got, 'pgwarden_postgres_running') === 1;
          return ok ? got : false;
        },
        { timeoutMs: 15_000 },
      );
      assert.equal(value(s, 'pgwarden_timeline'), 1);
      assert.ok((value(s, 'pgwarden_wal_position_bytes') ?? 0) > 0);
      assert.ok((value(s, 'pgwarden_loop_duration_seconds_count') ?? 0) > 0, 'the HA loop ran');
      assert.ok((value(s, 'pgwarden_decisions_total') ?? 0) > 0);
      if (leader) {
        // Lag per standby comes from the primary's pg_stat_replication as of the last cycle.
        await waitFor(
          'both standbys in pg_stat_replication',
          async () => (await scrape(`${m.api_url}/metrics`)).filter((x) => x.name === 'pgwarden_replication_lag_bytes').length === 2,
          {
            timeoutMs: 10_000,
          },
        );
        const left = value(s, 'pgwarden_lease_remaining_seconds')!;
        assert.ok(left > 0 && left <= c.ttlMs / 1000, `lease left ${left}`);
        const again = await scrape(`${m.api_url}/metrics`);
        for (const other of r.members.filter((x) => x.name !== m.name)) assert.ok((value(again, 'pgwarden_replication_lag_bytes', { member: other.name }) ?? -1) >= 0, other.name);
      }
    }
  });

  it('the proxy: sessions, bytes relayed per backend, backends by role', async () => {
    const admin = `http://127.0.0.1:${c.up!.proxyPorts.admin}`;
    const leader = (await c.report()).leader!;
    const rows = await sqlRows(c.up!.proxyPorts.rw, c.cred, 'SELECT 1 AS one');
    assert.equal(rows[0]?.one, 1);
    const upStandbys = (got: ReturnType<typeof samples>) => got.filter((x) => x.name === 'pgwarden_proxy_backend_up' && x.labels.role === 'standby' && x.value === 1).length;
    const s = await waitFor(
      'the proxy to count the bytes of that session and to see both standbys up',
      async () => {
        const got = await scrape(`${admin}/metrics`);
        return (value(got, 'pgwarden_proxy_relayed_bytes_total', { direction: 'out', backend: leader }) ?? 0) > 0 && upStandbys(got) === 2 ? got : false;
      },
      { timeoutMs: 10_000 },
    );
    assert.ok((value(s, 'pgwarden_proxy_relayed_bytes_total', { direction: 'in', backend: leader }) ?? 0) > 0);
    assert.equal(value(s, 'pgwarden_proxy_backend_up', { backend: leader, role: 'primary' }), 1);
  });
});
