/**
 * A base backup a member is receiving, as both the store (member status) and the agent's
 * GET /status carry it: where from, how far, how fast.
 */
import { z } from 'zod';

const bytes = z.number().int().nonnegative();

export const cloneStatusSchema = z.object({
  from: z.string().min(1),
  done_bytes: bytes,
  /** pg_basebackup's estimate of the whole copy (0 until it has one). */
  total_bytes: bytes,
  rate_bytes_s: z.number().nonnegative(),
  elapsed_s: z.number().nonnegative(),
});

export type CloneStatus = z.infer<typeof cloneStatusSchema>;
