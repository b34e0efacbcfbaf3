/**
 * The proxy's configuration file (proxy.yaml).
 */
import { z } from 'zod';
import { hostPort, memberName, storeSchema } from './schema.js';

export const proxyConfigSchema = z.strictObject({
  name: memberName.default('proxy'),
  scope: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .default('pgwarden'),
  store: storeSchema,
  /** The cluster's ttl: the lifetime of the proxy's store session. */
  ttl: z.number().positive().default(10),
  /** Seconds one store call (a reload of the cluster state) may take before it counts as failed. */
  store_timeout: z.number().positive().default(2),
  /** Read-write port: always the current primary. */
  listen_rw: hostPort,
  /** Read-only port: standbys by weight, the primary when none qualifies. */
  listen_ro: hostPort,
  /**
   * TLS for clients: an SSLRequest is accepted and the session runs over TLS with this certificate.
   * Without it the proxy answers 'N' and clients that allow it go on in plain text. The proxy's
   * own connections to PostgreSQL stay plain (same trusted network as replication).
   */
  tls: z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) }).optional(),
  /** HTTP admin API (GET /nodes) for `pgwarden show nodes`. */
  admin_listen: hostPort.optional(),
  health_check: z
    .strictObject({
      interval: z.number().positive().default(1),
      timeout: z.number().positive().default(1),
      user: z.string().default('postgres'),
      database: z.string().default('postgres'),
      password_file: z.string().optional(),
      password_env: z.string().optional(),
    })
    .refine((s) => (s.password_file === undefined) !== (s.password_env === undefined), 'give exactly one of password_file or password_env'),
  /** Bytes of replay lag above which a standby serves no reads. */
  max_lag: z.number().int().nonnegative().default(1048576),
  /** lb_weight per node name (default 1; noloadbalance-tagged nodes weigh 0). */
  weights: z.record(z.string(), z.number().nonnegative()).default({}),
  /** Seconds a new read-write connection waits for a primary during a failover. */
  failover_wait: z.number().nonnegative().default(30),
  /** Largest client message accepted, in bytes; larger is a protocol error for that connection. */
  max_message_length: z
    .number()
    .int()
    .min(1024)
    .default(64 * 1024 * 1024),
  log: z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'), file: z.string().optional() }).default({ level: 'info' }),
});

export type ProxyConfig = z.infer<typeof proxyConfigSchema>;
