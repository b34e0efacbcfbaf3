/**
 * The GET /status contract: what an agent reports of its own PostgreSQL, live. Agents serve it,
 * peers read it during an election, `cluster show` reads it for every row. The wire form carries
 * LSNs as text; readers get them parsed and validated here, once.
 */
import { z } from 'zod';
import { tagsSchema, type Tags } from '../config/schema.js';
import { cloneStatusSchema, type CloneStatus } from '../util/clone-status.js';
import { formatLsn, parseLsn, type Lsn } from '../util/lsn.js';

export interface NodeReport {
  readonly name: string;
  /** PostgreSQL answers queries. */
  readonly running: boolean;
  /**
   * Its postmaster: `starting` while a pid file names a live process that does not answer (starting,
   * shutting down, hung). Null from agents before this field.
   */
  readonly postmaster: 'running' | 'starting' | 'stopped' | null;
  readonly role: 'primary' | 'standby' | null;
  readonly lsn: Lsn | null;
  /** A standby's WAL receiver streams (live, not from the store). */
  readonly streaming: boolean;
  readonly timeline: number | null;
  readonly tags: Tags | null;
  /** The filesystem of its data directory (or pg_wal) is full: it could not take writes if promoted. */
  readonly disk_full: boolean;
  /** The base backup it is receiving (clone), with its progress; null otherwise. */
  readonly clone: CloneStatus | null;
  /** When an operator removed this node from the cluster (node remove); null while it is a member. */
  readonly removed_at: string | null;
}

const wire = z.object({
  name: z.string().min(1),
  running: z.boolean(),
  postmaster: z.enum(['running', 'starting', 'stopped']).nullable().default(null),
  role: z.enum(['primary', 'standby']).nullable(),
  lsn: z
    .string()
    .regex(/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/)
    .nullable(),
  streaming: z.boolean(),
  timeline: z.number().int().positive().nullable(),
  tags: z.object(tagsSchema.shape).nullable(),
  // Agents before this field was added do not send it.
  disk_full: z.boolean().default(false),
  clone: cloneStatusSchema.nullable().default(null),
  removed_at: z.string().nullable().default(null),
});

/** The JSON body of GET /status. */
export function nodeReportJson(r: NodeReport): z.input<typeof wire> {
  return { ...r, lsn: r.lsn === null ? null : formatLsn(r.lsn) };
}

/** A GET /status body, validated; null when it is not one. */
export function parseNodeReport(body: unknown): NodeReport | null {
  const r = wire.safeParse(body);
  return r.success ? { ...r.data, lsn: r.data.lsn === null ? null : parseLsn(r.data.lsn) } : null;
}
