import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLag } from '../../../src/api/health-routes.js';

describe("Patroni's ?lag= values", () => {
  it('bytes, or kB, MB, GB, TB on a 1024 base (as PostgreSQL and Patroni count)', () => {
    assert.equal(parseLag('1048576'), 1048576n);
    assert.equal(parseLag('1024kB'), 1048576n);
    assert.equal(parseLag('10MB'), 10n * 1024n * 1024n);
    assert.equal(parseLag('1GB'), 1n << 30n);
    assert.equal(parseLag('2TB'), 2n << 40n);
  });
  it('anything else is no limit at all: null (the check then fails)', () => {
    for (const bad of ['', 'abc', '-1', '1.5MB', '10mb', '10 XB']) assert.equal(parseLag(bad), null, bad);
  });
});
