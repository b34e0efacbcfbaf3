/**
 * Base errors. Every pgwarden error has a stable `code` (shown in JSON output and events) and says
 * whether retrying may help. Foreign errors (gRPC statuses, SQLSTATEs) are mapped to these only at
 * the boundary modules (store/etcd.ts, postgres/queries.ts).
 */
export class PgwardenError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The state store did not answer within its deadline, or refused the call for a transient reason. */
export class StoreUnavailableError extends PgwardenError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'store_unavailable', true, options);
  }
}

/** The local PostgreSQL is not running or does not accept connections. */
export class PostgresUnavailableError extends PgwardenError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'postgres_unavailable', true, options);
  }
}

/** The local PostgreSQL accepted the connection or the query but did not answer within the deadline. */
export class PostgresTimeoutError extends PostgresUnavailableError {}

/** A configuration mistake; `path` names the key, e.g. ['postgresql', 'listen']. */
export class ConfigError extends PgwardenError {
  constructor(
    readonly path: readonly (string | number)[],
    readonly reason: string,
  ) {
    super(`${path.length ? path.join('.') : '(root)'}: ${reason}`, 'config_invalid', false);
  }
}

/** A command failed; `output` is the tail of what it printed (never contains secrets: we pass none on argv). */
export class CommandError extends PgwardenError {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly output: string,
  ) {
    super(`${command} exited with ${exitCode ?? 'a signal'}: ${output.trim().split('\n').slice(-3).join(' | ')}`, 'command_failed', true);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
