import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rank, rankSyncStandbys, switchoverTarget, type Candidate, type SwitchoverCandidate, type SyncCandidate } from '../../../src/ha/election.js';
import type { Tags } from '../../../src/config/schema.js';
import { aRegistration, defaultConfig } from '../../support/builders.js';

const c = (name: string, over: Partial<Candidate> = {}): Candidate => ({ name, running: true, role: 'standby', lsn: 100n, tags: defaultConfig.tags, ...over });
const rules = { optimeLsn: 200n, maximumLag: 150n, exclude: new Set<string>(), sync: null };

describe('election ranking', () => {
  it('ranks by running primary, then LSN, then priority, then name', () => {
    const r = rank([c('b'), c('a'), c('c', { lsn: 150n }), c('d', { tags: { ...defaultConfig.tags, priority: 200 } }), c('e', { role: 'primary', lsn: 60n })], rules);
    assert.deepEqual(
      r.ranked.map((x) => x.name),
      ['e', 'c', 'd', 'a', 'b'],
    );
  });

  it('excludes, with a reason each: not running, nofailover, a full disk, unknown position, lag over the limit, switched-away leader', () => {
    const r = rank(
      [
        c('down', { running: false }),
        c('nofo', { tags: { ...defaultConfig.tags, nofailover: true } }),
        c('full', { diskFull: true }),
        c('unknown', { lsn: null }),
        c('behind', { lsn: 10n }),
        c('old', {}),
        c('ok'),
      ],
      { ...rules, exclude: new Set(['old']) },
    );
    assert.deepEqual(
      r.ranked.map((x) => x.name),
      ['ok'],
    );
    assert.deepEqual(Object.fromEntries(r.excluded.map((e) => [e.name, e.reason])), {
      down: 'PostgreSQL is not running',
      nofo: 'is tagged nofailover',
      full: "its data directory's filesystem is full",
      unknown: 'its WAL position is unknown',
      behind: 'lags 190 bytes behind the last primary position (maximum_lag_on_failover 150)',
      old: 'is the leader being switched away from',
    });
  });

  it('every node computes the same order whatever order it sees the candidates in', () => {
    const all = [c('n1', { lsn: 5n }), c('n2', { lsn: 7n }), c('n3', { lsn: 7n })];
    const a = rank(all, { ...rules, optimeLsn: null }).ranked.map((x) => x.name);
    const b = rank([...all].reverse(), { ...rules, optimeLsn: null }).ranked.map((x) => x.name);
    assert.deepEqual(a, b);
    assert.deepEqual(a, ['n2', 'n3', 'n1']);
  });
});

describe('who may be synchronous', () => {
  const reg = (name: string, tags: Partial<Tags> = {}) => aRegistration(name, 1, { tags: { ...defaultConfig.tags, ...tags } });
  const standby = (name: string, over: Partial<SyncCandidate> = {}): SyncCandidate => ({
    name,
    state: 'streaming',
    flushLsn: 100n,
    replyAgeMs: 10,
    registration: reg(name),
    ...over,
  });

  it('ranks by priority, then the most WAL flushed, then name; refuses with a reason each', () => {
    const r = rankSyncStandbys([
      standby('a'),
      standby('b', { flushLsn: 200n }),
      standby('c', { registration: reg('c', { priority: 200 }) }),
      standby('catching', { state: 'catchup' }),
      standby('silent', { replyAgeMs: 4000 }),
      standby('stranger', { registration: undefined }),
      standby('nosync', { registration: reg('nosync', { nosync: true }) }),
    ]);
    assert.deepEqual(
      r.ranked.map((x) => x.name),
      ['c', 'b', 'a'],
    );
    assert.deepEqual(Object.fromEntries(r.excluded.map((e) => [e.name, e.reason])), {
      catching: 'is not streaming (catchup)',
      silent: 'has not replied for 4000 ms',
      stranger: 'is not a registered member',
      nosync: 'is tagged nosync',
    });
  });
});

describe('switchover target', () => {
  const s = (name: string, over: Partial<SwitchoverCandidate> = {}): SwitchoverCandidate => ({ ...c(name), streaming: true, ...over });

  it('the named standby when it is healthy and streaming; otherwise why not', () => {
    const all = [s('n2'), s('n3', { streaming: false }), s('n4', { tags: { ...defaultConfig.tags, nofailover: true } })];
    assert.equal((switchoverTarget(all, 'n2') as Candidate).name, 'n2');
    assert.equal(switchoverTarget(all, 'n3'), 'n3 is not a healthy streaming standby: is not streaming');
    assert.equal(switchoverTarget(all, 'n4'), 'n4 is not a healthy streaming standby: is tagged nofailover');
    assert.equal(switchoverTarget(all, 'n9'), 'n9 is not a member of the cluster');
  });

  it('without a name, the best by the promotion order', () => {
    const all = [s('n2', { lsn: 100n }), s('n3', { lsn: 300n }), s('n4', { lsn: 300n, tags: { ...defaultConfig.tags, priority: 200 } }), s('n5', { lsn: 900n, running: false })];
    assert.equal((switchoverTarget(all, null) as Candidate).name, 'n4');
    assert.equal(switchoverTarget([s('n2', { streaming: false })], null), 'no healthy streaming standby to hand over to');
  });
});
