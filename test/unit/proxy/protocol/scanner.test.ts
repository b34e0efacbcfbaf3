import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtocolError } from '../../../../src/proxy/protocol/errors.js';
import { Scanner } from '../../../../src/proxy/protocol/scanner.js';
import { query, readyForQuery, sync, typed } from '../../../support/protocol-builder.js';

const stream = Buffer.concat([query('SELECT 1'), typed('D', Buffer.alloc(70_000, 7)), readyForQuery('T'), sync(), readyForQuery('I')]);

function scan(chunks: Buffer[]) {
  const seen: string[] = [];
  const s = new Scanner(1 << 20, (type, head, at, headLength, len) => seen.push(`${String.fromCharCode(type)}:${len}:${head.toString('latin1', at, at + headLength)}`), 9);
  for (const c of chunks) s.feed(c);
  assert.ok(s.atBoundary);
  return seen;
}

describe('relay scanner', () => {
  it('reports every message with its type, length and first bytes', () => {
    const seen = scan([stream]);
    assert.deepEqual(
      seen.map((x) => x.slice(0, 2)),
      ['Q:', 'D:', 'Z:', 'S:', 'Z:'],
    );
    assert.equal(seen[0], 'Q:13:SELECT 1\0');
    assert.equal(seen[2], 'Z:5:T');
    assert.equal(seen[4], 'Z:5:I');
  });

  it('gives the same report at every split offset', () => {
    const whole = scan([stream]);
    for (let k = 0; k <= stream.length; k += k < 40 || k > stream.length - 40 ? 1 : 997) {
      assert.deepEqual(scan([stream.subarray(0, k), stream.subarray(k)]), whole, `split at ${k}`);
    }
  });

  it('knows when it is between messages', () => {
    const s = new Scanner(1 << 20, () => {});
    s.feed(query('x').subarray(0, 3));
    assert.equal(s.atBoundary, false);
  });

  it('refuses absurd lengths', () => {
    assert.throws(() => new Scanner(1024, () => {}).feed(Buffer.from([0x51, 0x7f, 0, 0, 0])), ProtocolError);
    assert.throws(() => new Scanner(1024, () => {}).feed(Buffer.from([0x51, 0, 0, 0, 1])), ProtocolError);
  });
});
