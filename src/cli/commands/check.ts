/**
 * `pgwarden check consistency`: proves the standbys hold the primary's data. Per table the
 * primary digests it under a SHARE lock (writes to that table wait, reads go on) and each standby
 * digests it once it has replayed the position taken under that lock, so writes elsewhere never
 * cause a false difference. Tables, and the standbys of each table, are checked in parallel.
 * Exit 0 all equal, 1 a difference or a missing table, 2 when it could not compare (says why).
 */
import type { Command } from 'commander';
import type { ClusterReport } from '../../api/cluster-view.js';
import { errorMessage } from '../../util/errors.js';
import { clientSetup, fail } from '../common.js';
import { renderTable } from '../render/table.js';

type Verdict = 'equal' | 'DIFFERENT' | 'missing' | 'not compared';

interface TableResult {
  readonly database: string;
  readonly table: string;
  readonly rows: number | null;
  readonly hash: string | null;
  readonly standbys: Record<string, { verdict: Verdict; rows: number | null; hash?: string; error?: string }>;
  readonly error?: string;
}

const MISSING = 'missing on the primary';

/** Tables checked at once: each holds a SHARE lock on the primary while its standbys digest it. */
const PARALLEL_TABLES = 4;

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('checks on the cluster')
    .command('consistency')
    .description('prove that every standby holds the same rows as the primary (count and content hash per table)')
    .option('-c, --config <file>', 'the cluster file written by `pgwarden up`, or a client file listing every node API', 'pgwarden.yaml')
    .option('--table <name...>', 'only these tables (schema.table or table)')
    .option('-d, --database <name>', 'database of the --table names', 'postgres')
    .option('--timeout <seconds>', 'how long a standby may take to replay up to the primary, per table', '60')
    .option('--json', 'machine-readable output')
    .action(async (opts: { config: string; table?: string[]; database: string; timeout: string; json?: boolean }) => {
      const { api: all, named } = clientSetup(opts.config);
      const waitS = Math.max(1, Number(opts.timeout) || 60);
      const timeoutMs = (waitS + 30) * 1000;
      const cluster = await all.get<ClusterReport>('/cluster').catch((err) => fail(err, 2));
      if (cluster.status !== 200) fail(new Error(`cannot read the cluster: ${JSON.stringify(cluster.body)}`), 2);
      const leader = cluster.body.members.find((m) => m.name === cluster.body.leader);
      if (!leader) fail(new Error('the cluster has no leader: nothing to compare against'), 2);
      // The token goes only to APIs this configuration names, never to an address read from the store.
      const primary = named(leader.api_url, timeoutMs);
      if (!primary) fail(new Error(`the leader's API ${leader.api_url} is not among the endpoints of ${opts.config}: list every node's API there`), 2);
      const standbys = cluster.body.members.filter((m) => m.name !== leader.name);

      let tables: { database: string; table: string }[];
      if (opts.table?.length) tables = opts.table.map((table) => ({ database: opts.database, table }));
      else {
        const res = await primary.get<{ databases?: Record<string, string[]>; error?: string }>('/consistency/tables').catch((err) => fail(err, 2));
        if (res.status !== 200 || !res.body.databases) fail(new Error(`cannot list the tables on ${leader.name}: ${res.body.error ?? res.status}`), 2);
        tables = Object.entries(res.body.databases).flatMap(([database, names]) => names.map((table) => ({ database, table })));
      }

      const checkOne = async ({ database, table }: { database: string; table: string }): Promise<TableResult> => {
        const none = (why: string): TableResult => ({ database, table, rows: null, hash: null, standbys: {}, error: why });
        type Held = { hold?: string; lsn?: string; error?: string };
        const held = await primary
          .post<Held>('/consistency/hold', { database, table, hold_s: waitS + 30 })
          .catch((err) => ({ status: 0, body: { error: errorMessage(err) } as Held }));
        if (held.status === 404) return none(MISSING);
        if (held.status !== 200 || !held.body.hold || !held.body.lsn) return none(`the primary could not lock it: ${held.body.error ?? held.status}`);
        const { hold, lsn } = held.body as { hold: string; lsn: string };
        try {
          // The primary digests under its lock while the standbys replay up to lsn and digest.
          type Digested = { rows?: number; hash?: string; error?: string };
          const own = primary.post<Digested>(`/consistency/hold/${hold}/digest`, {}).catch((err) => ({ status: 0, body: { error: errorMessage(err) } as Digested }));
          const others = Promise.all(
            standbys.map(async (s): Promise<[string, TableResult['standbys'][string]]> => {
              const standby = named(s.api_url, timeoutMs);
              if (!standby) return [s.name, { verdict: 'not compared', rows: null, error: `its API ${s.api_url} is not in ${opts.config}` }];
              const res = await standby
                .post<{ rows?: number; hash?: string; error?: string }>('/consistency/digest', { database, table, lsn, wait_s: waitS })
                .catch((err) => ({ status: 0, body: { error: errorMessage(err) } as { rows?: number; hash?: string; error?: string } }));
              if (res.status === 404) return [s.name, { verdict: 'missing', rows: null }];
              if (res.status !== 200) return [s.name, { verdict: 'not compared', rows: null, error: res.body.error ?? String(res.status) }];
              return [s.name, { verdict: 'equal', rows: res.body.rows ?? null, hash: res.body.hash ?? '' }];
            }),
          );
          const [mine, verdicts] = await Promise.all([own, others]);
          if (mine.status !== 200 || mine.body.hash === undefined) return none(`the primary could not digest it: ${mine.body.error ?? mine.status}`);
          const { rows = null, hash } = mine.body;
          // A standby's digest was taken as 'equal' pending the primary's: compare now.
          const judged = verdicts.map(([n, v]): [string, TableResult['standbys'][string]] => [
            n,
            v.verdict === 'equal' ? { verdict: v.rows === rows && v.hash === hash ? 'equal' : 'DIFFERENT', rows: v.rows } : v,
          ]);
          return { database, table, rows, hash, standbys: Object.fromEntries(judged) };
        } finally {
          await primary.delete(`/consistency/hold/${hold}`).catch(() => undefined);
        }
      };

      const results: TableResult[] = new Array(tables.length);
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(PARALLEL_TABLES, tables.length) }, async () => {
          while (next < tables.length) {
            const i = next++;
            results[i] = await checkOne(tables[i]!);
          }
        }),
      );

      const differs = results.some((r) => r.error === MISSING || Object.values(r.standbys).some((s) => s.verdict === 'DIFFERENT' || s.verdict === 'missing'));
      const unknown = results.some((r) => (r.error && r.error !== MISSING) || Object.values(r.standbys).some((s) => s.verdict === 'not compared'));
      if (opts.json) console.log(JSON.stringify({ primary: leader.name, consistent: !differs && !unknown, tables: results }, null, 2));
      else {
        const names = standbys.map((s) => s.name);
        console.log(
          renderTable(
            ['Table', 'Rows', `Primary hash (${leader.name})`, ...names],
            results.map((r) => [
              `${r.database}.${r.table}`,
              r.rows === null ? '?' : String(r.rows),
              r.hash ?? r.error ?? '',
              ...names.map((n) => {
                const s = r.standbys[n];
                return s ? `${s.verdict}${s.verdict === 'DIFFERENT' && s.rows !== null ? ` (${s.rows} rows)` : ''}${s.error ? `: ${s.error}` : ''}` : '';
              }),
            ]),
          ),
        );
        console.log(
          differs
            ? '\nDIFFERENT: a standby does not hold the same data as the primary'
            : unknown
              ? '\ncould not compare every table (see above)'
              : `\nconsistent: ${results.length} table(s) equal on ${names.length} standby(s)`,
        );
      }
      process.exitCode = differs ? 1 : unknown ? 2 : 0;
    });
}
