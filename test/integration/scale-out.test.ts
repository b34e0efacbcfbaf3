/**
 * Field report 003 scaled to CI: a third node added online to a primary/standby pair while the
 * primary inserts in large batches (`insert ... select generate_series`). `pgwarden node add`
 * clones it with progress and returns once it streams; the copy holds every acknowledged row; then
 * the old standby and the primary go down and the new node is promoted and takes writes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { up, type UpCluster } from '../../src/local/up.js';
import type { ClusterEvent } from '../../src/store/types.js';
import { waitFor } from '../../src/util/deadline.js';
import { killInstance, MAIN, TIMING } from '../support/cluster.js';
import { freePortBase } from '../support/ports.js';
import { connect, sqlRows, writable, type Credentials } from '../support/workload.js';

const execP = promisify(execFile);
const BATCH = 50_000;
const ROWS_DURING_ADD = 2_000_000;

/** Batches of rows into one table, counting the acknowledged ones, until stopped. */
class BatchInserter {
  acked = 0;
  readonly commits: number[] = [];
  private running = true;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly port: number,
    private readonly cred: Credentials,
  ) {}

  async start(): Promise<void> {
    const c = await connect(this.port, this.cred, 5000, '127.0.0.1', 60_000);
    await c.query('CREATE TABLE scale_out (id bigint PRIMARY KEY, payload text NOT NULL)');
    this.done = (async () => {
      while (this.running) {
        await c.query('INSERT INTO scale_out SELECT g, md5(g::text) FROM generate_series($1::bigint, $2::bigint) g', [this.acked + 1, this.acked + BATCH]);
        this.acked += BATCH;
        this.commits.push(Date.now());
      }
      await c.end();
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

describe('online scale-out under batch inserts (field report 003)', { timeout: 900_000 }, () => {
  let dir: string;
  let cluster: UpCluster;
  let cred: Credentials;
  const port = (name: string) => cluster.ports.find((p) => p.name === name)!.pg;
  const dataDir = (name: string) => join(dir, 'nodes', name, 'data');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pgw-scale-'));
    cluster = await up({ dir, nodes: 2, portBase: await freePortBase(110), timing: TIMING });
    cred = { user: cluster.superuser.username, password: cluster.superuser.password };
    await cluster.waitStable(120_000);
  });
  after(async () => {
    await cluster?.stop().catch(() => {});
    for (const p of cluster?.ports ?? []) killInstance(dataDir(p.name));
    rmSync(dir, { recursive: true, force: true });
  });

  it('node add under 2 million inserted rows: progress, a slot first, streams; every acknowledged row on the copy; then it takes over', async () => {
    const inserter = new BatchInserter(port('node1'), cred);
    await inserter.start();
    await waitFor('the first 500,000 rows', () => inserter.acked >= 500_000, { timeoutMs: 120_000 });
    const before = inserter.acked;
    const added = execP(process.execPath, [MAIN, 'node', 'add', '-c', cluster.clusterFile], { maxBuffer: 16 << 20 });
    const { stdout } = await added;
    // A table without a primary key, with duplicate rows and a type that has no hash function.
    const c0 = await connect(port('node1'), cred, 5000);
    await c0.query(`CREATE TABLE no_key (v text, j json); INSERT INTO no_key SELECT 'same', '{"a": 1}' FROM generate_series(1, 1000)`);
    await c0.end();
    // While the inserts go on: every table equal, no false difference.
    const during = await execP(process.execPath, [MAIN, 'check', 'consistency', '--json', '-c', cluster.clusterFile]);
    const checked = JSON.parse(during.stdout) as { consistent: boolean; tables: { table: string; standbys: Record<string, { verdict: string }> }[] };
    assert.equal(checked.consistent, true, during.stdout);
    for (const t of ['scale_out', 'no_key']) {
      const r = checked.tables.find((x) => x.table === t);
      assert.deepEqual(
        Object.entries(r?.standbys ?? {}).map(([n, v]) => `${n} ${v.verdict}`),
        ['node2 equal', 'node3 equal'],
        t,
      );
    }
    await waitFor(`${ROWS_DURING_ADD} rows inserted since node add began`, () => inserter.acked - before >= ROWS_DURING_ADD, { timeoutMs: 300_000 });
    await inserter.stop();

    assert.match(stdout, /^node3: cloning from node1 \[[#.]{20}\] \d+% /m, 'plain progress lines when not a terminal');
    assert.match(stdout, /^node3 added in [\d.]+ s: streams from node1 \(\d+\.\d MB in [\d.]+ s/m);
    const events = await eventsOf(cluster, 'node3');
    const kinds = events.map((e) => e.kind);
    assert.deepEqual(
      ['node_added', 'clone', 'cloned'].filter((k) => kinds.includes(k as ClusterEvent['kind'])),
      ['node_added', 'clone', 'cloned'],
    );
    const recent = JSON.parse((await execP(process.execPath, [MAIN, 'cluster', 'events', '--since', '10m', '--json', '-c', cluster.clusterFile])).stdout) as ClusterEvent[];
    assert.ok(
      recent.some((e) => e.node === 'node3' && e.kind === 'cloned'),
      'cluster events --since shows the clone',
    );
    const later = new Date(Date.now() + 60_000).toISOString();
    assert.deepEqual(JSON.parse((await execP(process.execPath, [MAIN, 'cluster', 'events', '--since', later, '--json', '-c', cluster.clusterFile])).stdout), []);
    const cloneStart = Date.parse(events.find((e) => e.kind === 'clone')!.at);
    const cloneEnd = Date.parse(events.find((e) => e.kind === 'cloned')!.at);
    assert.ok(
      inserter.commits.some((t) => t > cloneStart && t < cloneEnd),
      'batches committed while the node cloned',
    );

    // Every member that may be promoted keeps a slot for the new one (and the new one for the others).
    for (const [node, wanted] of [
      ['node1', ['node2', 'node3']],
      ['node2', ['node1', 'node3']],
      ['node3', ['node1', 'node2']],
    ] as const) {
      await waitFor(
        `slots ${wanted.join(', ')} on ${node}`,
        async () => {
          const rows = await sqlRows(port(node), cred, "SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'physical' ORDER BY 1");
          return JSON.stringify(rows.map((r) => r.slot_name)) === JSON.stringify(wanted);
        },
        { timeoutMs: 10_000 },
      );
    }

    // The copy holds every acknowledged row once it has replayed the primary's position.
    const [{ lsn }] = (await sqlRows(port('node1'), cred, 'SELECT pg_current_wal_lsn()::text AS lsn')) as [{ lsn: string }];
    await waitFor('node3 to replay the primary position', async () => (await sqlRows(port('node3'), cred, `SELECT pg_last_wal_replay_lsn() >= '${lsn}' AS ok`))[0]?.ok === true, {
      timeoutMs: 60_000,
    });
    for (const node of ['node1', 'node3']) {
      const [{ n }] = (await sqlRows(port(node), cred, 'SELECT count(*)::bigint AS n FROM scale_out')) as [{ n: string }];
      assert.equal(Number(n), inserter.acked, `${node} holds every acknowledged row`);
    }

    // The check can fail: node2, its agent stopped, is promoted outside the cluster and changed.
    await cluster.nodes.find((n) => n.name === 'node2')!.agent.halt();
    await execP('/usr/lib/postgresql/15/bin/pg_ctl', ['promote', '-w', '-D', dataDir('node2')], { uid: osUid(dataDir('node2')) });
    const rogue = await connect(port('node2'), cred, 5000);
    await rogue.query("UPDATE scale_out SET payload = 'changed' WHERE id = 7");
    await rogue.end();
    const diverged = await execP(process.execPath, [MAIN, 'check', 'consistency', '--table', 'scale_out', '-c', cluster.clusterFile]).then(
      () => assert.fail('check consistency passed on a changed copy'),
      (err: { code: number; stdout: string }) => err,
    );
    assert.equal(diverged.code, 1, diverged.stdout);
    assert.match(diverged.stdout, /^ postgres\.scale_out \| \d+ +\| [ct]-?\d+ +\| DIFFERENT \(\d+ rows\) \| equal/m);

    // The field report's failover test: the old standby stops, then the primary's host goes.
    await crash(cluster, 'node2', dataDir);
    await crash(cluster, 'node1', dataDir);
    await waitFor('node3 promoted and writable', () => writable(port('node3'), cred), { timeoutMs: 60_000 });
    const c = await connect(port('node3'), cred, 5000);
    await c.query('INSERT INTO scale_out VALUES (0, $1)', ['after the failover']);
    await c.end();
  });
});

/** The owner of a data directory: pg_ctl runs as that user. */
const osUid = (dir: string) => statSync(dir).uid;

/** A host lost: its agent halted and every process of its instance killed. */
async function crash(cluster: UpCluster, name: string, dataDir: (n: string) => string): Promise<void> {
  const node = cluster.nodes.find((n) => n.name === name)!;
  killInstance(dataDir(name));
  await node.agent.halt();
  await node.api.close();
  await node.pg.close();
}

async function eventsOf(cluster: UpCluster, node: string): Promise<ClusterEvent[]> {
  const store = cluster.nodes[0]!.store;
  return (await store.events(500, AbortSignal.timeout(2000))).filter((e) => e.node === node);
}
