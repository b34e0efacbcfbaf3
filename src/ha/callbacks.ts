/**
 * The operator's scripts for what else follows a failover (DNS, a cloud API that moves an address,
 * a load balancer), in Patroni's convention: `script <action> <role> <scope>`, action one of
 * on_start, on_stop, on_role_change. They run one at a time and in order, in the background so
 * they never hold up the HA loop, each under a timeout (then its process group is killed). Their
 * output goes to the log; a failure becomes an event.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../util/log.js';

export type CallbackAction = 'on_start' | 'on_stop' | 'on_role_change';

/** Output kept of one run, for the log: enough for an error message, bounded against a chatty script. */
const MAX_OUTPUT = 16 * 1024;

export interface CallbackOptions {
  readonly scripts: Partial<Record<CallbackAction, string>>;
  readonly timeoutMs: number;
  readonly scope: string;
  /** The scripts' environment (the agent's, without the variables that carry passwords). */
  readonly env: NodeJS.ProcessEnv;
  readonly log: Logger;
}

export class Callbacks {
  private chain: Promise<void> = Promise.resolve();
  /** Where failures go (the agent records them as events). */
  private failed: (message: string) => void = () => {};

  constructor(private readonly o: CallbackOptions) {}

  onFailure(report: (message: string) => void): void {
    this.failed = report;
  }

  fire(action: CallbackAction, role: 'primary' | 'standby'): void {
    const script = this.o.scripts[action];
    if (script) this.chain = this.chain.then(() => this.run(script, action, role));
  }

  /** Resolves once every callback fired so far has ended. */
  idle(): Promise<void> {
    return this.chain;
  }

  private run(script: string, action: CallbackAction, role: string): Promise<void> {
    const what = `${action} callback ${script}`;
    return new Promise((resolve) => {
      const child = spawn(script, [action, role, this.o.scope], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: this.o.env });
      let output = '';
      const keep = (b: Buffer) => (output = (output + b.toString('utf8')).slice(-MAX_OUTPUT));
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, this.o.timeoutMs);
      let ended = false;
      child.on('error', (err) => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        this.failed(`${what} could not run: ${err.message}`);
        resolve();
      });
      child.on('close', (code, signal) => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        this.o.log.info({ callback: action, role, code, signal, output: output.trim() }, `${what} ended`);
        const last = output.trim().split('\n').pop() ?? '';
        if (timedOut) this.failed(`${what} was killed after its timeout of ${this.o.timeoutMs / 1000} s`);
        else if (code !== 0) this.failed(`${what} failed (exit ${code ?? signal})${last ? `: ${last}` : ''}`);
        resolve();
      });
    });
  }
}
