import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorResponse, readyForQuery, resultSet } from '../../../../src/proxy/protocol/encode.js';
import { Framer } from '../../../../src/proxy/protocol/framer.js';
import { errorFields, readyForQuery as goldenReady } from '../../../support/protocol-builder.js';

describe('messages the proxy sends', () => {
  it('ErrorResponse carries severity, SQLSTATE and text, and frames cleanly', () => {
    const [m, ...rest] = new Framer(1 << 20, false).push(errorResponse('08006', 'no primary is reachable'));
    assert.equal(rest.length, 0);
    assert.equal(String.fromCharCode(m!.type!), 'E');
    const f = errorFields(m!.body);
    assert.equal(f.get('S'), 'FATAL');
    assert.equal(f.get('C'), '08006');
    assert.equal(f.get('M'), 'no primary is reachable');
  });

  it('ReadyForQuery matches the golden frame', () => {
    assert.deepEqual(readyForQuery(), goldenReady('I'));
  });

  it('a result set is RowDescription, one DataRow per row, CommandComplete', () => {
    const msgs = new Framer(1 << 20, false).push(
      resultSet(
        ['node_id', 'status'],
        [
          ['0', 'up'],
          ['1', null],
        ],
      ),
    );
    assert.deepEqual(
      msgs.map((m) => String.fromCharCode(m.type!)),
      ['T', 'D', 'D', 'C'],
    );
    const [, , nullRow, done] = msgs;
    assert.ok(nullRow && done);
    assert.equal(done.body.toString('utf8', 0, done.body.length - 1), 'SELECT 2');
    assert.equal(nullRow.body.readInt32BE(2 + 4 + 1), -1, 'NULL is length -1');
  });
});
