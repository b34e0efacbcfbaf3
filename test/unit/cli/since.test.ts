import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sinceTime } from '../../../src/cli/commands/cluster.js';

describe('cluster events --since', () => {
  const now = Date.parse('2026-11-30T18:00:00Z');
  it('takes an age in seconds, minutes, hours or days before now', () => {
    assert.equal(sinceTime('30s', now), '2026-11-30T17:59:30.000Z');
    assert.equal(sinceTime('15m', now), '2026-11-30T17:45:00.000Z');
    assert.equal(sinceTime('2h', now), '2026-11-30T16:00:00.000Z');
    assert.equal(sinceTime('1d', now), '2026-11-29T18:00:00.000Z');
  });
  it('takes an ISO time, with or without an offset', () => {
    assert.equal(sinceTime('2026-11-30T17:00:00Z', now), '2026-11-30T17:00:00.000Z');
    assert.equal(sinceTime('2026-11-30T19:00:00+02:00', now), '2026-11-30T17:00:00.000Z');
  });
  it('refuses anything else, naming the option and the forms it takes', () => {
    for (const bad of ['yesterday', '15', '-5m', '2026-13-45T00:00:00Z', '']) assert.throws(() => sinceTime(bad, now), /--since: expected an ISO time .* or an age/);
  });
});
