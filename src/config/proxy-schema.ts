/**
 * The proxy's configuration file (proxy.yaml).
 */
import { z } from 'zod';
import { hostPort, memberName, storeSchema } from './schema.js';

/** ECDHE key exchange with AES-GCM or ChaCha20-Poly1305 only: forward secrecy and AEAD. */
const FORWARD_SECRET_AEAD =
  'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305';

/** PostgreSQL's largest message: 1 GB less one byte (MaxAllocSize). */
const MAX_PG_MESSAGE = 0x3fffffff;

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
  /** Read-only port: standbys by weight (the primary only with ro_fallback_to_primary). */
  listen_ro: hostPort,
  /** New read-only sessions go to the primary when no standby qualifies (else they are refused). */
  ro_fallback_to_primary: z.boolean().default(false),
  /**
   * Seconds a read-only client (address, user, database, application_name) of one of
   * ro_affinity_applications keeps its standby after its last session on it ended; while one is
   * open, always: sessions that share a snapshot (pg_dump -j) need one server. 0: off.
   */
  ro_affinity: z.number().nonnegative().default(10),
  /** The application_names ro_affinity applies to; `*`: every client (which then loses balancing across its own sessions). */
  ro_affinity_applications: z.array(z.string()).default(['pg_dump']),
  /** Seconds from accept until the login (startup packet, TLS handshake, authentication) must be done. */
  client_login_timeout: z.number().positive().default(15),
  /**
   * Client connections open at once, logging in or logged in; past it a new one gets PostgreSQL's
   * "too many clients" error. Keep (proxies x max_client_conn) below PostgreSQL's max_connections
   * minus superuser_reserved_connections, so that an administrator can always log in directly.
   */
  max_client_conn: z.number().int().positive().default(64),
  /** The same, per client address (0: no limit of its own). */
  max_client_conn_per_address: z.number().int().nonnegative().default(0),
  /**
   * TLS for clients: an SSLRequest is accepted and the session runs over TLS with this certificate.
   * Without it the proxy answers 'N' and clients that allow it go on in plain text. The proxy's
   * own connections to PostgreSQL: backend_tls.
   */
  tls: z
    .strictObject({
      cert_file: z.string().min(1),
      /** Refused when group or others may read it (0600; 0640 when owned by root), as PostgreSQL does. */
      key_file: z.string().min(1),
      /** allow: plain clients too; require: a plaintext startup is refused (28000). */
      mode: z.enum(['allow', 'require']).default('allow'),
      min_version: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
      /** OpenSSL cipher list for TLSv1.2 (TLSv1.3 suites are all forward-secret AEAD). */
      ciphers: z.string().min(1).default(FORWARD_SECRET_AEAD),
      /** CA that client certificates must chain to; with verify_client, a client without one is refused. */
      ca_file: z.string().min(1).optional(),
      verify_client: z.boolean().default(false),
    })
    .refine((t) => !t.verify_client || t.ca_file !== undefined, { message: 'verify_client needs ca_file', path: ['verify_client'] })
    .optional(),
  /**
   * TLS from the proxy to PostgreSQL (sessions and health checks): disable; require (encrypted,
   * server not verified); verify-full (its certificate must chain to ca_file and name the host).
   */
  backend_tls: z
    .strictObject({ mode: z.enum(['disable', 'require', 'verify-full']).default('disable'), ca_file: z.string().min(1).optional() })
    .refine((t) => t.mode !== 'verify-full' || t.ca_file !== undefined, { message: 'verify-full needs ca_file', path: ['ca_file'] })
    .default({ mode: 'disable' }),
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
  /** Largest client message accepted, in bytes (PostgreSQL's own limit by default); larger is a protocol error for that connection. Relayed as it comes, never held whole. */
  max_message_length: z.number().int().min(1024).max(MAX_PG_MESSAGE).default(MAX_PG_MESSAGE),
  log: z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'), file: z.string().optional() }).default({ level: 'info' }),
});

export type ProxyConfig = z.infer<typeof proxyConfigSchema>;
