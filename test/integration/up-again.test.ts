/**
 * `pgwarden up` run again on the same directory brings the same cluster back with its data.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { up, type UpCluster } from '../../src/local/up.js';
import { silentLogger } from '../../src/util/log.js';
import { TIMING } from '../support/cluster.js';
import { freePortBase } from '../support/ports.js';

async function sql<T>(c: UpCluster, port: number, text: string): Promise<T[]> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: c.superuser.username, password: c.superuser.password, database: 'postgres' });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('pgwarden up, twice on one directory', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-up-again-'));
  let cluster: UpCluster | null = null;
  after(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps secrets private, and the data across a restart', async () => {
    const portBase = await freePortBase(110);
    cluster = await up({ dir, nodes: 2, portBase, timing: TIMING, log: silentLogger });
    let report = await cluster.waitStable(120_000);
    const leaderPort = cluster.ports.find((p) => p.name === report.leader)!.pg;
    await sql(cluster, leaderPort, "CREATE TABLE kept AS SELECT 'still here'::text AS v");
    assert.equal(statSync(cluster.pgpassFile).mode & 0o777, 0o600, '.pgpass is private');
    assert.equal(statSync(join(dir, 'secrets', 'superuser')).mode & 0o777, 0o600);
    await cluster.stop();

    const again = await up({ dir, timing: TIMING, log: silentLogger });
    cluster = again;
    assert.equal(again.nodes.length, 2, 'the node count comes from the directory');
    report = await again.waitStable(120_000);
    for (const p of again.ports) {
      const rows = await sql<{ v: string }>(again, p.pg, 'SELECT v FROM kept');
      assert.deepEqual(rows, [{ v: 'still here' }], `${p.name} has the data`);
    }
    assert.ok(report.members.every((m) => m.timeline !== null));
  });
});
