/**
 * Shared CLI plumbing: reading the client config and failing with a clear message and exit code.
 */
import { createInterface } from 'node:readline/promises';
import { ApiClient } from '../client/api-client.js';
import { loadClientConfig, readToken, tlsFiles, type ClientConfig } from '../config/index.js';
import type { PoolNodeRow } from '../proxy/pool-nodes.js';
import { deadlineSignal } from '../util/deadline.js';
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

export interface ClientSetup {
  readonly cfg: ClientConfig;
  readonly token: string | undefined;
  /** A client over every endpoint the file names. */
  readonly api: ApiClient;
  /** A client for one API, only if the file names it: the token never goes to an address read from the store. */
  named(url: string, timeoutMs?: number): ApiClient | null;
}

/** The client file read once (exit 2 on a mistake): its config, token and clients. */
export function clientSetup(file: string): ClientSetup {
  try {
    const cfg = loadClientConfig(file);
    // A CLI user may read a token file that the agents' user owns (root does): only its mode is checked.
    const token = readToken(cfg, ['auth_token_file'], false);
    const endpoints = cfg.endpoints.map((e) => e.replace(/\/+$/, ''));
    const tls = tlsFiles(cfg, []);
    return {
      cfg,
      token,
      api: new ApiClient(cfg.endpoints, token, 5000, tls),
      named: (url, timeoutMs) => (endpoints.includes(url.replace(/\/+$/, '')) ? new ApiClient([url], token, timeoutMs, tls) : null),
    };
  } catch (err) {
    fail(err, 2);
  }
}

/** What a proxy routes (its admin API's GET /nodes, which needs no token). */
export async function poolNodes(adminUrl: string, timeoutMs: number): Promise<PoolNodeRow[]> {
  const res = await fetch(`${adminUrl.replace(/\/+$/, '')}/nodes`, { signal: deadlineSignal(timeoutMs) });
  if (!res.ok) throw new Error(`${adminUrl}: HTTP ${res.status}`);
  return (await res.json()) as PoolNodeRow[];
}

export function clientFrom(file: string): ApiClient {
  return clientSetup(file).api;
}

/** Asks on a terminal for the name as confirmation; false without a terminal (then --yes is needed). */
export async function confirmed(question: string, name: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim() === name;
  } finally {
    rl.close();
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
