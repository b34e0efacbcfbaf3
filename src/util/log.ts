/**
 * Logging: pino JSON lines, pretty on a TTY. Secrets never reach a logger: configuration objects are
 * never logged whole, and the fields that could carry one are redacted as a second line of defence.
 */
import { mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';

export type { Logger };

const REDACT = ['password', '*.password', 'token', '*.token', 'auth_token', '*.auth_token', 'headers.authorization'];

export function createLogger(opts: { name: string; level?: string; file?: string; pretty?: boolean }): Logger {
  const level = opts.level ?? process.env.PGWARDEN_LOG_LEVEL ?? 'info';
  const base = { name: opts.name, level, redact: { paths: REDACT, censor: '[redacted]' } };
  if (opts.file) return pino(base, fileDestination(opts.file));
  if (opts.pretty ?? process.stdout.isTTY) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return pino(base);
}

/** A logger that drops everything: for tests and for commands whose output is the table itself. */
export const silentLogger: Logger = pino({ level: 'silent' });

/**
 * A log file that a full or failing disk cannot break: a line that cannot be written is dropped.
 * A logger that throws would stop whatever logged, the HA loop included, when the disk fills up.
 */
function fileDestination(path: string): { write(line: string): void } {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'a', 0o600);
  return {
    write(line) {
      try {
        writeSync(fd, line);
      } catch {
        // dropped: the disk is full or failing
      }
    },
  };
}
