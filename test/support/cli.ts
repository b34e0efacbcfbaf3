/**
 * The pgwarden command line as a test runs it: a child process, its exit code and output, never a throw.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MAIN } from './cluster.js';

const execP = promisify(execFile);

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function cli(...args: string[]): Promise<CliResult> {
  return execP(process.execPath, [MAIN, ...args], { maxBuffer: 16 << 20 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
}
