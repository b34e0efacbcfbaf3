/**
 * `pgwarden agent -c node.yaml`: one node agent with its REST API. SIGTERM/SIGINT stop
 * PostgreSQL cleanly and hand the lock over (a standby takes it), as Patroni does.
 */
import type { Command } from 'commander';
import { checkSecrets, loadNodeConfig, NO_PG_TLS_WARNING } from '../../config/index.js';
import { createLogger } from '../../util/log.js';
import { fail, runUntilSignal } from '../common.js';

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('run the node agent: manages the local PostgreSQL and takes part in leader election')
    .requiredOption('-c, --config <file>', 'the node YAML')
    .action((opts: { config: string }) =>
      runUntilSignal(async () => {
        const cfg = loadNodeConfig(opts.config);
        const log = createLogger({ name: cfg.name, level: cfg.log.level, file: cfg.log.file });
        const [{ buildNode }, { storeFor }] = await Promise.all([import('../../compose/agent.js'), import('../../compose/store.js')]);
        const node = await buildNode(cfg, await storeFor(cfg.store, cfg.scope, { ttlSeconds: cfg.ttl, callTimeoutMs: cfg.retry_timeout * 1000 }), log).start();
        log.info({ api: cfg.api.listen, postgres: cfg.postgresql.listen }, 'agent started');
        return { stop: () => node.stop({ stopPostgres: true, revoke: true }) };
      }),
    );

  program
    .command('check-config')
    .description('validate a node YAML and read its secrets as the agent would (exit 2 and name the key on a mistake)')
    .requiredOption('-c, --config <file>', 'the node YAML')
    .action((opts: { config: string }) => {
      try {
        const cfg = loadNodeConfig(opts.config);
        checkSecrets(cfg);
        if (!cfg.postgresql.tls) console.error(`warning: ${NO_PG_TLS_WARNING}`);
        console.log(`${opts.config}: ok`);
      } catch (err) {
        fail(err, 2);
      }
    });
}
