/**
 * Nothing an HTTP client does may delay the HA loop: the REST API asks PostgreSQL on a connection
 * of its own, and concurrent callers share one query in flight. Shown with a standby whose
 * PostgreSQL is frozen (every process of the instance stopped) while its API is asked 100 times a
 * second: the agent's cycles keep their pace.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_BIN_DIR } from '../../src/config/schema.js';
import { instancePids } from '../../src/postgres/instance-procs.js';
import { memoryCluster, type ClusterHarness } from '../support/cluster.js';

/** How many HA cycles an agent runs in `ms` (its view's time changes each cycle), while `during` runs alongside. */
async function cyclesIn(status: () => { view: { now: number } | null }, ms: number, during: () => Promise<void> = async () => {}): Promise<number> {
  let cycles = 0;
  let last = status().view?.now;
  const sampler = setInterval(() => {
    const now = status().view?.now;
    if (now !== last) cycles++;
    last = now;
  }, 20);
  try {
    await Promise.all([during(), new Promise((r) => setTimeout(r, ms))]);
  } finally {
    clearInterval(sampler);
  }
  return cycles;
}

describe('the REST API never delays the HA loop', { timeout: 180_000 }, () => {
  let c: ClusterHarness;
  before(async () => {
    c = await memoryCluster();
    await c.waitStable(120_000);
  });
  after(async () => {
    await c?.stop();
  });

  it('a frozen standby asked 100 times a second: its agent cycles at the same pace, every answer within its deadline', async () => {
    const r = await c.waitStable(60_000);
    const standby = r.members.find((m) => m.role === 'standby');
    assert.ok(standby);
    const node = c.up?.nodes.find((n) => n.name === standby.name);
    assert.ok(node);
    const pids = instancePids({ dataDir: c.dataDir(standby.name), binary: join(DEFAULT_BIN_DIR, 'postgres') });
    assert.ok(pids.length > 2, 'the instance is found');
    const signal = (sig: NodeJS.Signals) => pids.forEach((p) => process.kill(p, sig));
    signal('SIGSTOP');
    try {
      const quiet = await cyclesIn(() => node.agent.status(), 8000);
      let asked = 0;
      let slowest = 0;
      const unanswered: string[] = [];
      const hammer = async () => {
        const stopAt = performance.now() + 8000;
        const calls: Promise<void>[] = [];
        while (performance.now() < stopAt) {
          const t = performance.now();
          asked++;
          calls.push(
            fetch(`${standby.api_url}/replica`, { signal: AbortSignal.timeout(5000) })
              .then(async (res) => {
                await res.arrayBuffer();
                if (res.status !== 503) unanswered.push(`status ${res.status}: a frozen standby is no replica`);
                slowest = Math.max(slowest, performance.now() - t);
              })
              .catch((err: unknown) => void unanswered.push(String(err))),
          );
          await new Promise((r) => setTimeout(r, 10));
        }
        await Promise.all(calls);
      };
      const hammered = await cyclesIn(() => node.agent.status(), 8000, hammer);
      console.log(`# frozen standby: ${quiet} cycles in 8 s quiet, ${hammered} while asked ${asked} times (slowest answer ${Math.round(slowest)} ms)`);
      assert.ok(asked >= 400, `the API was asked often (${asked})`);
      assert.deepEqual(unanswered.slice(0, 3), [], `${unanswered.length} of ${asked} calls went unanswered or wrong`);
      assert.ok(quiet >= 2, `the loop cycles while PostgreSQL is frozen (${quiet})`);
      assert.ok(hammered >= quiet - 1, `the loop kept its pace: ${hammered} cycles asked vs ${quiet} quiet`);
      assert.ok(slowest < 2500, `every answer came within its deadline (slowest ${Math.round(slowest)} ms)`);
    } finally {
      signal('SIGCONT');
    }
    await c.waitStable(60_000);
  });
});
