/**
 * The dashboard's feed on an embedded store: every subscriber gets the current frame at once, a
 * store change reaches them as a new frame, an unchanged cluster sends nothing, and the number of
 * subscribers is bounded.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ClusterFeed } from '../../../src/api/cluster-feed.js';
import { MemoryBackend, MemoryStore } from '../../../src/store/memory.js';
import { waitFor } from '../../../src/util/deadline.js';
import { aRegistration } from '../../support/builders.js';

const sig = () => AbortSignal.timeout(2000);

describe('the dashboard feed', () => {
  const store = new MemoryStore(new MemoryBackend('feed'), 10_000);
  const feed = new ClusterFeed({ store, prober: async () => null, timeoutMs: 1000, refreshMs: 50, minGapMs: 10, events: 5, maxSubscribers: 2 });
  after(() => feed.close());

  it('a subscriber gets frames as the store changes, and no frame while nothing changes', async () => {
    const frames: { cluster: { leader: string | null; members: { name: string }[] } }[] = [];
    const unsubscribe = feed.subscribe((f) => frames.push(JSON.parse(f)));
    await waitFor('the first frame', () => frames.length === 1, { timeoutMs: 2000 });
    await store.register(aRegistration('n1', 1), sig());
    assert.equal(await store.acquireLeader('n1', sig()), true);
    await waitFor('a frame with n1 leading', () => frames.at(-1)?.cluster.leader === 'n1', { timeoutMs: 2000 });
    const settled = frames.length;
    await new Promise((r) => setTimeout(r, 300)); // six refresh periods with nothing changed
    assert.equal(frames.length, settled, 'unchanged frames are not sent again');
    assert.deepEqual(
      frames.at(-1)!.cluster.members.map((m) => m.name),
      ['n1'],
    );

    const late: string[] = [];
    const second = feed.subscribe((f) => late.push(f));
    assert.equal(late.length, 1, 'a new subscriber gets the current frame at once');
    assert.equal(feed.hasRoom(), false, 'two subscribers at most');
    assert.throws(() => feed.subscribe(() => {}), /full/);
    second();
    unsubscribe();
    assert.equal(feed.hasRoom(), true);
  });
});
