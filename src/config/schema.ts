/**
 * The node configuration file (node.yaml), as a zod schema. Types come from here; cross-field
 * timing rules live in timing.ts. Unknown keys are refused so that a typo names itself.
 */
import { z } from 'zod';

export const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:5432')
  .refine((s) => {
    const port = Number(s.slice(s.lastIndexOf(':') + 1));
    return port > 0 && port < 65536;
  }, 'port must be between 1 and 65535');

/** A validated host:port as the parts a listener or a connection takes ([v6] brackets removed). */
export const splitHostPort = (s: string): { host: string; port: number } => {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
};

/** Credentials whose password is read from a file or an environment variable, never written inline. */
/** Options pgwarden sets itself (data directory, superuser, its password, authentication). */
const INITDB_OWN = /^--(pgdata|username|pwfile|pwprompt|auth|auth-host|auth-local|no-clean|no-sync|sync-only|show)(=|$)/;
const initdbOption = z
  .string()
  .regex(/^--[a-z][a-z-]*(=.+)?$/, 'expected a long initdb option, e.g. --data-checksums or --wal-segsize=1')
  .refine((o) => !INITDB_OWN.test(o), 'pgwarden sets this initdb option itself');

const credentials = z
  .strictObject({
    username: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'lowercase letters, digits and _ only'),
    password_file: z.string().min(1).optional(),
    password_env: z.string().min(1).optional(),
  })
  .refine((s) => (s.password_file === undefined) !== (s.password_env === undefined), 'give exactly one of password_file or password_env');

/**
 * A token written into the YAML itself is refused: it would travel with every copy, diff and
 * backup of the file. The key is kept so that the error can say where the token goes instead.
 */
const inlineToken = z
  .string()
  .optional()
  .refine((t) => t === undefined, 'inline tokens are refused: put the token (32 bytes or more) in a file of mode 0600 and name it in auth_token_file');

/** PostgreSQL's own syntax for a setting's name (guc-file.l): a name or extension.name. */
const parameterName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/, 'not a PostgreSQL parameter name (letters, digits, _ and one dot)');
/** A newline or other control character would end the quoted value in postgresql.conf. */
const parameterText = z
  .string()
  .refine((v) => ![...v].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f), 'control characters (such as a newline) are not allowed in a parameter value');

/** 127.0.0.0/8, ::1 and localhost: an API there is reached from this host only. */
export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

/** Where Debian's postgresql-15 puts its programs. */
export const DEFAULT_BIN_DIR = '/usr/lib/postgresql/15/bin';

/** A node's (or proxy's) name: it appears in store keys, slot names and application_name. */
export const memberName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, _ . - (max 63), starting with a letter or digit');

const seconds = (def: number) => z.number().nonnegative().default(def);

export const tagsSchema = z.strictObject({
  priority: z.number().int().min(0).default(100),
  location: z.string().default('default'),
  nofailover: z.boolean().default(false),
  noloadbalance: z.boolean().default(false),
  /** Never chosen as a synchronous standby. */
  nosync: z.boolean().default(false),
  /** A new member takes its base backup from this standby rather than from the primary. */
  clonefrom: z.boolean().default(false),
});

export const storeSchema = z.discriminatedUnion('type', [
  z
    .strictObject({
      type: z.literal('etcd'),
      endpoints: z.array(z.string().regex(/^https?:\/\/[^/]+$/, 'expected https://host:port (or http://)')).min(1),
      username: z.string().optional(),
      password_file: z.string().optional(),
      password_env: z.string().optional(),
      /** The CA that signed etcd's server certificates (https endpoints). */
      ca_file: z.string().optional(),
      /** A client certificate and key, for an etcd started with --client-cert-auth. */
      cert_file: z.string().optional(),
      key_file: z.string().optional(),
    })
    .refine((e) => e.username !== undefined || (e.password_file === undefined && e.password_env === undefined), {
      message: 'a password without username: set username too (etcd authenticates a user)',
      path: ['username'],
    })
    .refine((e) => e.username === undefined || (e.password_file === undefined) !== (e.password_env === undefined), {
      message: 'give exactly one of password_file or password_env for username',
      path: ['password_file'],
    })
    .refine((e) => (e.cert_file === undefined) === (e.key_file === undefined), { message: 'give cert_file and key_file together', path: ['cert_file'] })
    .refine((e) => (e.ca_file === undefined && e.cert_file === undefined) || e.endpoints.every((u) => u.startsWith('https://')), {
      message: 'ca_file and cert_file are for TLS: the endpoints must be https://',
      path: ['endpoints'],
    }),
  z.strictObject({ type: z.literal('memory') }),
]);

export const nodeConfigSchema = z.strictObject({
  name: memberName,
  /** Numeric id shown by `cluster show`; assigned at registration when absent. */
  id: z.number().int().positive().optional(),
  /** Cluster name: the store key prefix, so several clusters can share one etcd. */
  scope: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .default('pgwarden'),
  data_dir: z.string().min(1),
  bin_dir: z.string().default(DEFAULT_BIN_DIR),
  /** OS user that runs PostgreSQL. Default: the current user, or `postgres` when started as root. */
  os_user: z.string().optional(),
  /** Where this node's private runtime files (pgpass, logs) go. Default: next to data_dir. */
  run_dir: z.string().optional(),
  postgresql: z.strictObject({
    listen: hostPort,
    connect_address: hostPort,
    superuser: credentials,
    replication: credentials,
    /** A login role in pg_monitor that the leader creates (and re-keys) for the proxies' health checks: they need no superuser. */
    monitor: credentials.optional(),
    /**
     * A login role with only the functions pg_rewind needs (PostgreSQL's documented grants), that
     * the leader creates: a rejoining old primary rewinds with it instead of the superuser.
     */
    rewind: credentials.optional(),
    /**
     * TLS for PostgreSQL: this server's certificate and key, and the CA that signed every member's.
     * With it, pg_hba takes TLS logins only, and replication, pg_basebackup, pg_rewind and the
     * agent's own connections require sslmode=verify-full against the CA (and channel binding).
     */
    tls: z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1), ca_file: z.string().min(1) }).optional(),
    parameters: z.record(parameterName, z.union([parameterText, z.number(), z.boolean()])).default({}),
    /** Extra pg_hba.conf lines, placed before the defaults (which require a password from anywhere). */
    pg_hba: z.array(z.string()).default([]),
    /** Seconds a clean stop may take before it becomes an immediate one. */
    stop_timeout: seconds(30),
    /** Extra initdb options for the first node's bootstrap, e.g. --data-checksums, --wal-segsize=1. */
    initdb: z.array(initdbOption).default([]),
  }),
  api: z
    .strictObject({
      listen: hostPort,
      connect_address: hostPort,
      auth_token: inlineToken,
      auth_token_file: z.string().optional(),
      /** Addresses or CIDRs that may make mutating calls (with the token); empty: any address. */
      allowlist: z.array(z.string()).default([]),
      /**
       * HTTPS: this agent's certificate and key; `ca_file` signed every member's API certificate
       * (the agents verify each other with it); `verify_client` requires a client certificate of
       * that CA from every caller (the agents present their own).
       */
      tls: z
        .strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1), ca_file: z.string().min(1).optional(), verify_client: z.boolean().default(false) })
        .refine((t) => !t.verify_client || t.ca_file !== undefined, { message: 'verify_client needs ca_file (the CA client certificates must chain to)', path: ['verify_client'] })
        .optional(),
    })
    .refine((a) => a.auth_token_file !== undefined || isLoopback(splitHostPort(a.listen).host), {
      message: 'the API listens beyond loopback: set auth_token_file (anyone who reaches it could otherwise read the cluster and, with a token set later, act on it)',
      path: ['auth_token_file'],
    }),
  store: storeSchema,
  loop_wait: seconds(1),
  ttl: seconds(10),
  retry_timeout: seconds(3),
  /** Bytes a standby may lag behind the last known primary position and still be promoted. */
  maximum_lag_on_failover: z.number().int().nonnegative().default(1048576),
  /** Seconds a crashed primary gets to accept writes again before the lock is released; 0 = at once. */
  primary_start_timeout: seconds(10),
  /**
   * Seconds the leader's PostgreSQL may fail the write probe (a commit on the agent's own
   * connection, every cycle) after it had answered, before it is taken for hung: killed, then the
   * lock is given up and a standby takes over.
   */
  primary_hang_timeout: seconds(5),
  /**
   * A watchdog device behind the lease guard. automatic: used when present and its timeout fires
   * before the lock may expire (ttl - 1 s); required: without one, this node never takes the lock.
   */
  watchdog: z
    .strictObject({ mode: z.enum(['off', 'automatic', 'required']).default('automatic'), device: z.string().default('/dev/watchdog') })
    .default({ mode: 'automatic', device: '/dev/watchdog' }),
  /**
   * The leader's floating address (IPv4): added to `interface` by the node that holds the leader
   * lock once its PostgreSQL accepts writes, removed by every other node. Needs root or CAP_NET_ADMIN.
   */
  vip: z
    .strictObject({
      address: z.ipv4('expected an IPv4 address, e.g. 192.0.2.10'),
      prefix: z.number().int().min(1).max(32).default(32),
      interface: z.string().regex(/^[A-Za-z0-9_.:@-]{1,15}$/, 'expected an interface name, e.g. eth0'),
    })
    .optional(),
  /**
   * Scripts run on role changes, as `script <action> <role> <scope>` (Patroni's convention), one
   * at a time in the background, each killed after `timeout` seconds; a failure is an event.
   */
  callbacks: z
    .strictObject({
      on_start: z.string().min(1).optional(),
      on_stop: z.string().min(1).optional(),
      on_role_change: z.string().min(1).optional(),
      timeout: z.number().positive().default(30),
    })
    .default({ timeout: 30 }),
  /** Seconds a switchover lets open transactions on the old primary finish (default for the request). */
  drain_timeout: seconds(10),
  /** off; on: FIRST k of the best standbys; quorum: ANY k of every eligible standby. */
  synchronous_mode: z.enum(['off', 'on', 'quorum']).default('off'),
  synchronous_node_count: z.number().int().min(1).default(1),
  /** With no eligible standby, commits wait rather than going asynchronous. */
  synchronous_mode_strict: z.boolean().default(false),
  tags: tagsSchema.default({ priority: 100, location: 'default', nofailover: false, noloadbalance: false, nosync: false, clonefrom: false }),
  log: z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'), file: z.string().optional() }).default({ level: 'info' }),
});

export type NodeConfig = z.infer<typeof nodeConfigSchema>;
export type Tags = z.infer<typeof tagsSchema>;
export type StoreConfig = z.infer<typeof storeSchema>;

/**
 * What CLI commands need: how to reach the cluster's API. A node.yaml gives one endpoint; the
 * cluster file written by `pgwarden up` lists every node's.
 */
export const clientConfigSchema = z.strictObject({
  endpoints: z.array(z.string().regex(/^https?:\/\//, 'expected http://host:port')).min(1),
  auth_token: inlineToken,
  auth_token_file: z.string().optional(),
  /** For https endpoints: the CA of the agents' API certificates, and a client certificate when they require one. */
  ca_file: z.string().optional(),
  cert_file: z.string().optional(),
  key_file: z.string().optional(),
  /** The proxies' admin endpoints (GET /nodes, no token sent): `cluster stop|start|restart` lists their state. */
  proxies: z.array(z.string().regex(/^https?:\/\/[^/]+$/, 'expected http://host:port')).default([]),
  /** The control endpoint of the `pgwarden up` process that runs these nodes (node add). */
  up: z
    .string()
    .regex(/^http:\/\/127\.0\.0\.1:\d+$/, 'expected http://127.0.0.1:port')
    .optional(),
});
export type ClientConfig = z.infer<typeof clientConfigSchema>;
