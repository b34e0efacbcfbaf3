/**
 * `pgwarden up`: runs a local cluster in the foreground, prints its table and connection strings,
 * then the event log as it happens. Ctrl-C or SIGTERM stops every instance cleanly.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { fail } from '../common.js';
import { Progress } from '../render/progress.js';
import { renderCluster } from '../render/table.js';

const VIP_REFUSAL = [
  '--vip: a floating IP moves between hosts, and `pgwarden up` runs every node on this one host, each on its own port:',
  "an address here would reach all of them alike and could not follow the leader. Connect to the proxy's read-write",
  'port instead (it follows the leader), or run `pgwarden agent` on each host with `vip:` in its node.yaml (docs/vip.md).',
].join('\n');

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('run a whole cluster on this host (embedded store): the quickest way to try pgwarden')
    .option('-n, --nodes <n>', 'number of PostgreSQL nodes (default 3, or what DIR had)')
    .option('-d, --dir <dir>', 'where data, secrets and logs live', 'pgwarden-cluster')
    .option(
      '-p, --port-base <port>',
      "every port up opens, all on 127.0.0.1: PostgreSQL base+1.., agent APIs base+101.., proxy read-write base+51, read-only base+52, proxy admin (GET /nodes, /metrics) base+53, up's control (node add) base+54 (default 15432)",
    )
    .option('--sync <mode>', 'synchronous replication: off, on (FIRST 1) or quorum (ANY 1)', 'off')
    .option('--vip <address>', 'a floating IP: refused here (every node of `up` shares this host); see node.yaml `vip:`')
    .option('--tls', 'the proxy requires TLS, with a throwaway CA and certificates made in DIR/tls (kept for the next runs)')
    .action(async (opts: { nodes?: string; dir: string; portBase?: string; sync: string; vip?: string; tls?: boolean }) => {
      if (!['off', 'on', 'quorum'].includes(opts.sync)) fail(new Error(`--sync: expected off, on or quorum (got ${opts.sync})`), 2);
      if (opts.vip !== undefined) fail(new Error(VIP_REFUSAL), 2);
      const { up } = await import('../../local/up.js');
      const sync = { mode: opts.sync as 'off' | 'on' | 'quorum' };
      const cluster = await up({
        dir: opts.dir,
        nodes: opts.nodes ? Number(opts.nodes) : undefined,
        portBase: opts.portBase ? Number(opts.portBase) : undefined,
        sync,
        tls: opts.tls,
      }).catch((err) => fail(err, 1));
      let stopping = false;
      const shutdown = async () => {
        if (stopping) return;
        stopping = true;
        console.log('\nstopping the cluster…');
        await cluster.stop();
        console.log('stopped; run the same command again to bring it back with its data');
        process.exit(0);
      };
      process.on('SIGINT', shutdown);
      process.on('SIGTERM', shutdown);

      console.log(`pgwarden up: starting ${cluster.nodes.length} nodes in ${cluster.dir} (logs: ${join(cluster.dir, 'logs', 'pgwarden.log')})`);
      // Base backups and rewinds can take a while on big data: show each node's long action.
      const progress = new Progress();
      const ticker = setInterval(() => {
        const busy = cluster.nodes.map((n) => [n.name, n.agent.inFlight()] as const).filter(([, f]) => f !== null);
        progress.update(busy.map(([name, f]) => `${name}: ${f!.kind}${f!.progress ? ` ${f!.progress}` : '…'}`).join('   '));
      }, 500);
      const report = await cluster.waitStable(180_000).catch(async (err) => {
        console.error(`pgwarden up: the cluster did not settle: ${err.message}`);
        return cluster.report();
      });
      clearInterval(ticker);
      progress.done();
      console.log(renderCluster(report));
      console.log('\nConnect:');
      for (const p of cluster.ports) console.log(`  ${p.name}: PGPASSFILE=${cluster.pgpassFile} psql 'host=127.0.0.1 port=${p.pg} user=postgres dbname=postgres'`);
      console.log(`  proxy: read-write port ${cluster.proxyPorts.rw} (always the primary), read-only port ${cluster.proxyPorts.ro} (standbys by weight)`);
      const verify = cluster.tls ? ` sslmode=verify-full sslrootcert=${cluster.tls.caFile}` : '';
      console.log(`         PGPASSFILE=${cluster.pgpassFile} psql 'host=127.0.0.1 port=${cluster.proxyPorts.rw} user=postgres dbname=postgres${verify}'`);
      if (cluster.tls) console.log(`         TLS required (throwaway CA ${cluster.tls.caFile}; a client certificate for user postgres: ${cluster.tls.clientCert})`);
      console.log(`  dashboard: http://127.0.0.1:${cluster.ports[0]!.api}/ui (any agent's API serves it)`);
      console.log(
        `\nOperate:  pgwarden cluster show -c ${cluster.clusterFile}   |   pgwarden switchover -c ${cluster.clusterFile}   |   pgwarden show nodes -c ${cluster.proxyFile}`,
      );
      console.log('Ctrl-C stops the cluster. Events:');
      cluster.onEvent((e) => console.log(`  ${e.at}  ${e.node.padEnd(8)} ${e.kind.padEnd(16)} ${e.message}`));
    });
}
