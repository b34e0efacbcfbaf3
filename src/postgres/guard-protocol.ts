/**
 * The lease guard's wire format: one JSON object per line on a Unix socket in the run directory
 * (mode 0700, so only the agent's user and root reach it). Both ends validate what they read and
 * drop the connection on anything else; a line is bounded so a peer cannot grow the reader.
 */

import type { InterfaceAddress } from '../util/ip-addr.js';

/** What the guard is started with (one argv entry; it holds no secret). */
export interface GuardSpec {
  readonly dataDir: string;
  readonly binDir: string;
  /** The postmaster's stdout and stderr. */
  readonly pgLog: string;
  readonly socket: string;
  /** The guard's own log lines. */
  readonly guardLog: string;
  /** The OS user PostgreSQL runs as, when the guard must switch to it (it runs as root). */
  readonly uid: number | null;
  readonly gid: number | null;
  readonly home: string;
  /** A watchdog device to keep alive while the lease is valid, or null. */
  readonly watchdog: string | null;
  /** The leader's floating address, removed with the instance when the lease runs out; or null. */
  readonly vip: InterfaceAddress | null;
}

/** A kill the guard carried out on its own: the lease ran out with no renewal. */
export interface GuardFence {
  /** Wall-clock time of the kill, for the event log. */
  readonly atMs: number;
  readonly killed: number;
  /** The floating address it removed at the same time (`a.b.c.d/len`), or null. */
  readonly vip: string | null;
}

export type ToGuard =
  /** The lease is valid until `untilMs` (CLOCK_MONOTONIC, already less the safety margin). */
  | { readonly op: 'lease'; readonly untilMs: number }
  /** No lease to enforce: the instance runs as a standby or not at all. */
  | { readonly op: 'disarm' }
  /** Spawn the postmaster (the guard is its parent); `standby` also disarms. */
  | { readonly op: 'start'; readonly standby: boolean };

export type FromGuard =
  | { readonly op: 'hello'; readonly pid: number; readonly postmaster: number | null; readonly armedUntilMs: number | null; readonly fences: readonly GuardFence[] }
  | { readonly op: 'started'; readonly pid: number }
  | { readonly op: 'start_failed'; readonly error: string }
  | { readonly op: 'exit'; readonly pid: number; readonly code: number | null; readonly signal: string | null }
  | { readonly op: 'fenced'; readonly fence: GuardFence };

export const MAX_LINE = 4096;

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNumOrNull = (v: unknown) => v === null || isNum(v);
const isFence = (v: unknown): v is GuardFence => {
  const f = v as GuardFence;
  return typeof v === 'object' && v !== null && isNum(f.atMs) && isNum(f.killed) && (f.vip === null || typeof f.vip === 'string');
};

export function parseToGuard(line: string): ToGuard | null {
  const m = parseObject(line);
  if (m === null) return null;
  if (m.op === 'lease' && isNum(m.untilMs)) return { op: 'lease', untilMs: m.untilMs };
  if (m.op === 'disarm') return { op: 'disarm' };
  if (m.op === 'start' && typeof m.standby === 'boolean') return { op: 'start', standby: m.standby };
  return null;
}

export function parseFromGuard(line: string): FromGuard | null {
  const m = parseObject(line);
  if (m === null) return null;
  switch (m.op) {
    case 'hello':
      return isNum(m.pid) && isNumOrNull(m.postmaster) && isNumOrNull(m.armedUntilMs) && Array.isArray(m.fences) && m.fences.every(isFence) ? (m as FromGuard) : null;
    case 'started':
      return isNum(m.pid) ? { op: 'started', pid: m.pid } : null;
    case 'start_failed':
      return typeof m.error === 'string' ? { op: 'start_failed', error: m.error } : null;
    case 'exit':
      return isNum(m.pid) && isNumOrNull(m.code) && (m.signal === null || typeof m.signal === 'string') ? (m as FromGuard) : null;
    case 'fenced':
      return isFence(m.fence) ? { op: 'fenced', fence: m.fence } : null;
    default:
      return null;
  }
}

function parseObject(line: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Splits a byte stream into lines; calls `onLine` for each, and `onOverflow` (once) when a line
 * grows past MAX_LINE, after which it reads nothing more.
 */
export function lineReader(onLine: (line: string) => void, onOverflow: () => void): (chunk: Buffer) => void {
  let partial = '';
  let dead = false;
  return (chunk) => {
    if (dead) return;
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    if (partial.length > MAX_LINE || parts.some((p) => p.length > MAX_LINE)) {
      dead = true;
      return onOverflow();
    }
    for (const p of parts) if (p) onLine(p);
  };
}
