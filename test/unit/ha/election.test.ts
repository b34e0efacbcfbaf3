import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rank, type Candidate } from '../../../src/ha/election.js';
import { defaultConfig } from '../../support/builders.js';

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

  it('excludes, with a reason each: not running, nofailover, unknown position, lag over the limit, switched-away leader', () => {
    const r = rank(
      [
        c('down', { running: false }),
        c('nofo', { tags: { ...defaultConfig.tags, nofailover: true } }),
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
