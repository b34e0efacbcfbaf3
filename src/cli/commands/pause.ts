/**
 * `pgwarden pause` / `pgwarden resume`: while paused, no agent fails over, restarts a crashed
 * instance or rejoins a crashed node by itself; a switchover still runs on request.
 */
import type { Command } from 'commander';
import { clientFrom, fail } from '../common.js';

export function registerPause(program: Command): void {
  for (const action of ['pause', 'resume'] as const) {
    program
      .command(action)
      .description(
        action === 'pause' ? 'stop automatic failover, restarts and rejoins (maintenance); switchover still works' : 'end a pause: automatic failover, restarts and rejoins again',
      )
      .option('-c, --config <file>', 'node.yaml or the cluster file written by `pgwarden up`', 'pgwarden.yaml')
      .option('--json', 'machine-readable output')
      .action(async (opts: { config: string; json?: boolean }) => {
        const res = await clientFrom(opts.config)
          .post<{ paused?: boolean; error?: string }>(`/${action}`, {})
          .catch((err) => fail(err, 2));
        if (res.status !== 200) fail(new Error(`${action} refused: ${res.body.error ?? res.status}`), 1);
        if (opts.json) console.log(JSON.stringify(res.body));
        else
          console.log(
            action === 'pause' ? 'paused: no automatic failover, restart or rejoin until `pgwarden resume`' : 'resumed: automatic failover, restarts and rejoins are back',
          );
      });
  }
}
