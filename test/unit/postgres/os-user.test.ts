/**
 * An agent run as root runs PostgreSQL as an unprivileged user, who must reach the data directory:
 * a directory above it that only root may enter (under /root, a mktemp directory) is named at
 * start instead of failing every PostgreSQL start. Needs root and a `postgres` user (CI has both).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertReachable, resolveOsUser } from '../../../src/postgres/os-user.js';

describe('the OS user must reach its data directory', { skip: process.getuid?.() !== 0 && 'needs root' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-reach-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a parent only root may enter is named, with the way out; once searchable, it passes', () => {
    const user = resolveOsUser('postgres');
    const data = join(dir, 'nodes', 'node1', 'data');
    chmodSync(dir, 0o700);
    assert.throws(
      () => assertReachable(user, data),
      (err: Error) =>
        err.message.includes(`postgres, who runs PostgreSQL, cannot reach ${data}: ${dir} is not searchable by it (mode 700`) && err.message.includes(`chmod o+x ${dir}`),
    );
    chmodSync(dir, 0o755);
    assert.doesNotThrow(() => assertReachable(user, data));
  });
});
