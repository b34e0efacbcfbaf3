/**
 * The frame of every fault suite: before, a settled cluster with the writer and the split-brain
 * sampler running; after, both stopped, the cluster torn down, and no sampled instant with two
 * writable nodes.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { ClusterHarness } from './cluster.js';
import { startCheckers, stopCheckers, type Writer } from './workload.js';

export function checkedCluster(make: () => Promise<ClusterHarness>, syncStandbys?: number): { readonly c: ClusterHarness; readonly writer: Writer } {
  let c: ClusterHarness | undefined;
  let checkers: Awaited<ReturnType<typeof startCheckers>> | undefined;
  before(async () => {
    c = await make();
    await c.waitStable(120_000, syncStandbys);
    checkers = await startCheckers(() => c!.endpoints, c.cred);
  });
  after(async () => {
    const splits = await stopCheckers(checkers);
    await c?.stop();
    assert.deepEqual(splits, [], 'never two writable nodes at one sampled instant');
  });
  return {
    get c() {
      return c!;
    },
    get writer() {
      return checkers!.writer;
    },
  };
}
