import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLsn, lagBytes, parseLsn } from '../../../src/util/lsn.js';

describe('LSN', () => {
  it('parses and formats PostgreSQL text form exactly, past 32 bits', () => {
    assert.equal(parseLsn('16/B374D848'), (0x16n << 32n) | 0xb374d848n);
    assert.equal(formatLsn(parseLsn('16/B374D848')), '16/B374D848');
    assert.equal(formatLsn(0n), '0/0');
  });

  it('refuses garbage', () => {
    assert.throws(() => parseLsn('16-B3'), /not an LSN/);
  });

  it('lag is never negative', () => {
    assert.equal(lagBytes(parseLsn('0/100'), parseLsn('0/40')), 0xc0n);
    assert.equal(lagBytes(parseLsn('0/40'), parseLsn('0/100')), 0n);
  });
});
