/**
 * Shared CLI plumbing: reading the client config and failing with a clear message and exit code.
 */
import { ApiClient } from '../api/client.js';
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
