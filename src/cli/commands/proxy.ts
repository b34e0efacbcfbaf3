/**
 * `pgwarden proxy -c proxy.yaml` and `pgwarden show nodes` (node detach|attach are in node.ts).
 */
import type { Command } from 'commander';
import { loadProxyConfig } from '../../config/index.js';
import { POOL_NODES_COLUMNS } from '../../proxy/pool-nodes.js';
import { createLogger } from '../../util/log.js';
import { fail, poolNodes, runUntilSignal } from '../common.js';
import { renderTable } from '../render/table.js';

export function registerProxy(program: Command): void {
  program
    .command('proxy')
    .description('run the PostgreSQL-protocol proxy: writes to the primary, reads over the standbys')
    .requiredOption('-c, --config <file>', 'the proxy YAML')
    .action((opts: { config: string }) =>
      runUntilSignal(async () => {
        const cfg = loadProxyConfig(opts.config);
        const log = createLogger({ name: cfg.name, level: cfg.log.level, file: cfg.log.file });
        const [{ startProxy }, { storeFor }] = await Promise.all([import('../../compose/proxy.js'), import('../../compose/store.js')]);
        return startProxy(cfg, await storeFor(cfg.store, cfg.scope, { ttlSeconds: cfg.ttl, callTimeoutMs: cfg.store_timeout * 1000 }), log);
      }),
    );

  const show = program.command('show').description('show what a proxy sees');
  show
    .command('nodes')
    .description('every backend as the proxy routes it (SHOW POOL_NODES)')
    .requiredOption('-c, --config <file>', 'the proxy YAML (its admin_listen is asked)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { config: string; json?: boolean }) => {
      let url: string;
      try {
        const cfg = loadProxyConfig(opts.config);
        if (!cfg.admin_listen) throw new Error('admin_listen is not set in the proxy config');
        url = `http://${cfg.admin_listen}`;
      } catch (err) {
        fail(err, 2);
      }
      const rows = await poolNodes(url, 5000).catch((err) => fail(err, 2));
      if (opts.json) console.log(JSON.stringify(rows, null, 2));
      else
        console.log(
          renderTable(
            [...POOL_NODES_COLUMNS],
            rows.map((r) => POOL_NODES_COLUMNS.map((c) => String(r[c] ?? ''))),
          ),
        );
    });
}
