import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../../src/util/log.js';

describe('log file', () => {
  it('a full disk drops the line and never throws into the caller (the HA loop logs every cycle)', () => {
    // /dev/full answers every write with ENOSPC, as a full filesystem does.
    const log = createLogger({ name: 'test', file: '/dev/full' });
    assert.doesNotThrow(() => {
      log.info('a cycle');
      log.error({ err: 'x' }, 'an error');
    });
  });
});
