/**
 * The command line: parse, call a component, print. No logic of its own.
 */
import { Command } from 'commander';
import { registerAgent } from './commands/agent.js';
import { registerCheck } from './commands/check.js';
import { registerCluster } from './commands/cluster.js';
import { registerCompletion } from './commands/completion.js';
import { registerFailover } from './commands/failover.js';
import { registerNode } from './commands/node.js';
import { registerPause } from './commands/pause.js';
import { registerProxy } from './commands/proxy.js';
import { registerSwitchover } from './commands/switchover.js';
import { registerUp } from './commands/up.js';

export function buildCli(): Command {
  const program = new Command('pgwarden').description('PostgreSQL high availability: agent, leader election, failover, switchover').version('0.1.0');
  registerUp(program);
  registerAgent(program);
  registerCluster(program);
  registerSwitchover(program);
  registerFailover(program);
  registerNode(program);
  registerCheck(program);
  registerPause(program);
  registerProxy(program);
  registerCompletion(program);
  return program;
}
