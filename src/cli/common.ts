/**
 * Shared CLI plumbing: reading the client config and failing with a clear message and exit code.
 */
import { ApiClient } from '../client/api-client.js';
import { loadClientConfig, readToken } from '../config/index.js';
import { ConfigError, errorMessage } from '../util/errors.js';

/** Prints the error and exits: 2 for config mistakes and unreadable clusters, else `code`. */
export function fail(err: unknown, code = 1): never {
  if (err instanceof ConfigError) {
    console.error(`pgwarden: config error: ${err.message}`);
    process.exit(2);
  }
  console.error(`pgwarden: ${errorMessage(err)}`);
  process.exit(code);
}

export function clientFrom(file: string): ApiClient {
  try {
    const cfg = loadClientConfig(file);
    return new ApiClient(cfg.endpoints, readToken(cfg, ['auth_token_file']));
  } catch (err) {
    fail(err, 2);
  }
}

/**
 * Runs a long-lived component (agent, proxy): starts it, failing clearly (exit 2 for config
 * mistakes), and stops it once on SIGINT/SIGTERM before exiting 0.
 */
export async function runUntilSignal(start: () => Promise<{ stop(): Promise<void> }>): Promise<void> {
  let running: { stop(): Promise<void> };
  try {
    running = await start();
  } catch (err) {
    fail(err, 1);
  }
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await running.stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
