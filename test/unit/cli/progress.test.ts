import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Progress } from '../../../src/cli/render/progress.js';

function stream(isTTY: boolean) {
  const written: string[] = [];
  return { written, s: { isTTY, columns: 80, write: (t: string) => written.push(t) } as unknown as NodeJS.WriteStream };
}

describe('progress output', () => {
  it('prints plain lines, only on change, when not a terminal', () => {
    const { written, s } = stream(false);
    const p = new Progress(s);
    p.update('node2: clone 1/30 MB');
    p.update('node2: clone 1/30 MB');
    p.update('node2: clone 30/30 MB');
    p.done();
    assert.deepEqual(written, ['node2: clone 1/30 MB\n', 'node2: clone 30/30 MB\n']);
  });

  it('rewrites one line in place on a terminal and clears it when done', () => {
    const { written, s } = stream(true);
    const p = new Progress(s);
    p.update('a');
    p.update('b');
    p.done();
    assert.deepEqual(written, ['\r\x1b[2Ka', '\r\x1b[2Kb', '\r\x1b[2K']);
  });
});
