/**
 * The content hash of `pgwarden check consistency` on real PostgreSQL: the same rows give the same
 * digest whatever their order and physical place, and any changed value, NULL, swap between
 * columns or trailing space gives another, for every kind of column (own hash function, one
 * PostgreSQL reaches through its type cache, text form).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { up, type UpCluster } from '../../src/local/up.js';
import { digestAfter, holdTable, type TableDigest } from '../../src/postgres/consistency.js';
import type { ConnParams } from '../../src/postgres/queries.js';
import { killInstance, TIMING } from '../support/cluster.js';
import { freePortBase } from '../support/ports.js';
import { connect } from '../support/workload.js';

const COLUMNS = `
  i int, v varchar(10), d posint, a int[], m mood, r int4range, j json, p point, n numeric,
  ts timestamptz, dt date, b bool, by bytea, pair pair, t text collate "C", u int`;
const ROWS = [
  `(1, 'a', 3, '{1,2}', 'a', '[1,3)', '{"x": 1}', '(1,2)', 1.5, '2026-11-30 12:00+00', '2026-11-30', true, '\\x0102', '(1,x)', 'z', 7)`,
  `(2, 'b', 4, '{}', 'b', 'empty', '[]', '(0,0)', 'NaN', 'infinity', '-infinity', false, '', '(,)', '', 8)`,
  `(null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null)`,
];

describe('check consistency: the content digest', { timeout: 120_000 }, () => {
  let dir: string;
  let cluster: UpCluster;
  let params: ConnParams;
  const sql = async (text: string) => {
    const c = await connect(params.port, params, 5000);
    try {
      await c.query(text);
    } finally {
      await c.end();
    }
  };
  /** The primary's digest under its lock, and the same table digested as a standby would. */
  const digestOf = async (table: string): Promise<TableDigest> => {
    const held = await holdTable(params, 'postgres', table, 30_000);
    assert.ok(held, `table ${table}`);
    try {
      const mine = await held.digest();
      assert.deepEqual(await digestAfter(params, 'postgres', table, held.lsn, 5000), mine, `${table}: a second session digests the same`);
      return mine;
    } finally {
      await held.release();
    }
  };
  /** A copy of `base` with the rows in another order and physical place, then `changes` applied one by one. */
  const variant = async (name: string, ...changes: string[]): Promise<TableDigest> => {
    await sql(`CREATE TABLE ${name} (LIKE base); INSERT INTO ${name} SELECT * FROM base ORDER BY i DESC NULLS FIRST`);
    for (const change of changes) await sql(change);
    return digestOf(name);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pgw-digest-'));
    cluster = await up({ dir, nodes: 1, portBase: await freePortBase(110), timing: TIMING });
    await cluster.waitStable(60_000);
    params = { host: '127.0.0.1', port: cluster.ports[0]!.pg, user: cluster.superuser.username, password: cluster.superuser.password };
    await sql(`CREATE TYPE mood AS ENUM ('a', 'b'); CREATE DOMAIN posint AS int CHECK (VALUE > 0); CREATE TYPE pair AS (n int, s text);
      CREATE TABLE base (${COLUMNS}); INSERT INTO base VALUES ${ROWS.join(', ')}`);
  });
  after(async () => {
    await cluster?.stop().catch(() => {});
    killInstance(join(dir, 'nodes', 'node1', 'data'));
    rmSync(dir, { recursive: true, force: true });
  });

  it('the same rows in another order, after updates and VACUUM FULL, digest the same', async () => {
    const base = await digestOf('base');
    assert.equal(base.rows, 3);
    assert.match(base.hash, /^c-?\d+$/, 'hashed from binary values');
    assert.deepEqual(await variant('moved', 'UPDATE moved SET u = u + 1', 'UPDATE moved SET u = u - 1', 'VACUUM FULL moved'), base);
  });

  it('any changed value, NULL, swap between columns or trailing space changes the digest', async () => {
    const base = await digestOf('base');
    const changes: Record<string, string> = {
      int: 'UPDATE c_int SET i = 3 WHERE i = 1',
      'NULL for a value': 'UPDATE c_null SET n = NULL WHERE i = 1',
      'value for a NULL': 'UPDATE c_value SET b = false WHERE i IS NULL',
      'trailing space': "UPDATE c_space SET v = 'a ' WHERE i = 1",
      'swap between columns': 'UPDATE c_swap SET i = u, u = i WHERE i = 1',
      timestamptz: "UPDATE c_ts SET ts = ts + interval '1 microsecond' WHERE i = 1",
      date: "UPDATE c_date SET dt = 'infinity' WHERE i = 2",
      bool: 'UPDATE c_bool SET b = NOT b WHERE i = 1',
      bytea: "UPDATE c_bytea SET by = '\\x0103' WHERE i = 1",
      json: `UPDATE c_json SET j = '{"x": 2}' WHERE i = 1`,
      array: "UPDATE c_array SET a = '{2,1}' WHERE i = 1",
      enum: "UPDATE c_enum SET m = 'b' WHERE i = 1",
      range: "UPDATE c_range SET r = '[1,4)' WHERE i = 1",
      composite: "UPDATE c_composite SET pair = '(1,y)' WHERE i = 1",
      'numeric NaN': 'UPDATE c_nan SET n = 0 WHERE i = 2',
      'one row fewer': 'DELETE FROM c_fewer WHERE i = 2',
      'a duplicate row': 'INSERT INTO c_dup SELECT * FROM c_dup WHERE i = 1',
    };
    for (const [what, change] of Object.entries(changes)) {
      const name = /UPDATE (\w+)|FROM (\w+)|INTO (\w+)/.exec(change)!.slice(1).find(Boolean)!;
      const d = await variant(name, change);
      assert.notEqual(d.hash, base.hash, `${what} (${change}) gave the same digest`);
    }
  });

  it('a type its hash function cannot take (an array of points) is hashed from text, still equal and still sensitive', async () => {
    await sql(`CREATE TABLE pts (p point[]); INSERT INTO pts VALUES ('{"(1,2)"}'), (NULL);
      CREATE TABLE pts2 (p point[]); INSERT INTO pts2 VALUES (NULL), ('{"(1,2)"}');
      CREATE TABLE pts3 (p point[]); INSERT INTO pts3 VALUES (NULL), ('{"(1,3)"}')`);
    const [a, b, c] = [await digestOf('pts'), await digestOf('pts2'), await digestOf('pts3')];
    assert.match(a.hash, /^t/);
    assert.deepEqual(a, b);
    assert.notEqual(a.hash, c.hash);
  });
});
