/**
 * The store boundary: every stored value is validated here, once, into the typed values of
 * types.ts, and written back in its stored form. A value that fails validation never reaches a
 * caller: the snapshot lists it under `rejected` (key, revision, reason) and treats it as absent,
 * so one bad write to the store cannot stop an agent's decision. Both backends share this module,
 * so they cannot drift.
 */
import { z } from 'zod';
import { memberName as name, tagsSchema } from '../config/schema.js';
import { cloneStatusSchema } from '../util/clone-status.js';
import { formatLsn, parseLsn, type Lsn } from '../util/lsn.js';
import { keyKind, type Keys } from './keys.js';
import {
  EVENT_KINDS,
  MEMBER_STATES,
  type AdminState,
  type PauseState,
  type ClusterEvent,
  type ClusterSnapshot,
  type FailoverRequest,
  type LeaderInfo,
  type MemberStatus,
  type PrimaryOptime,
  type ProxyView,
  type Registration,
  type RejectedValue,
  type RemovedState,
  type SyncState,
  type Versioned,
} from './types.js';

const lsn = z.string().transform((s, ctx): Lsn => {
  try {
    return parseLsn(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: `not an LSN: ${JSON.stringify(s).slice(0, 40)}` });
    return z.NEVER;
  }
});
const isoTime = z.iso.datetime({ offset: true });
const epochMs = isoTime.transform((s) => Date.parse(s));
const count = z.number().int().nonnegative();

const registration = z.object({
  name,
  id: z.number().int().positive(),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  api_url: z.string().regex(/^https?:\/\/[^/\s]+$/, 'expected http(s)://host:port'),
  tags: z.object(tagsSchema.shape),
});

const member = z
  .object({
    name,
    role: z.enum(['primary', 'standby', 'unknown']),
    state: z.enum(MEMBER_STATES),
    timeline: z.number().int().positive().nullable(),
    lsn: lsn.nullable(),
    replayed_lsn: lsn.nullable(),
    upstream: name.nullable(),
    streaming: z.boolean(),
    disk_full: z.boolean().default(false),
    vip: z.object({ address: z.ipv4(), held: z.boolean() }).nullable().default(null),
    clone: cloneStatusSchema.nullable().default(null),
    message: z.string(),
    updated_at: epochMs,
  })
  .transform(({ updated_at, ...m }): MemberStatus => ({ ...m, updated_at_ms: updated_at }));

const optime = z.object({ name, lsn, timeline: z.number().int().positive() });

const failover = z
  .object({
    kind: z.enum(['switchover', 'failover']),
    from: name.nullable(),
    to: name.nullable(),
    requested_at: epochMs,
    drain_timeout_s: z.number().nonnegative().max(3600).optional(),
    draining_since: epochMs.optional(),
    force: z.boolean().optional(),
  })
  .transform(({ requested_at, draining_since, ...r }): FailoverRequest => ({
    ...r,
    requested_at_ms: requested_at,
    ...(draining_since !== undefined ? { draining_since_ms: draining_since } : {}),
  }));

const sync = z.object({
  leader: name,
  members: z.array(name),
  mode: z.enum(['on', 'quorum']),
  count,
  wanted: count,
  narrowing: z.object({ to: z.array(name), count, lsn }).optional(),
});

const admin = z.object({ detached: z.boolean(), at: isoTime });
const removed = z.object({ at: isoTime });
// Bounded: a proxy of a cluster has a few nodes, and a store writer must not make readers parse a flood.
const proxyView = z
  .object({ name, nodes: z.array(z.object({ name, status: z.enum(['up', 'down', 'detached']) })).max(256), updated_at: isoTime })
  .transform(({ updated_at, ...v }) => ({ ...v, updated_at_ms: Date.parse(updated_at) }));
const pause = z.object({ at: isoTime, cluster: z.enum(['stop', 'start']).optional() });

const event = z.object({ at: isoTime, node: z.string().min(1), kind: z.enum(EVENT_KINDS), message: z.string() });

type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** Validates one value, saying why when it is refused. */
function check<T>(schema: z.ZodType<T>, value: unknown): Checked<T> {
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, reason: r.error.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; ') };
}

/** Parses and validates one stored JSON value. */
function parse<T>(schema: z.ZodType<T>, value: string): Checked<T> {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  return check(schema, json);
}

/** The leader and initialize keys hold plain text, not JSON. */
const plain = <T>(schema: z.ZodType<T>) => ({ text: true as const, schema });

/** Builds a snapshot from raw key/value pairs, validating every value. */
export function snapshotFromPairs(k: Keys, pairs: Iterable<{ key: string; value: string; revision: number }>, revision: number): ClusterSnapshot {
  let initialize: string | null = null;
  let leader: LeaderInfo | null = null;
  let optimeValue: PrimaryOptime | null = null;
  let failoverValue: Versioned<FailoverRequest> | null = null;
  let syncValue: Versioned<SyncState> | null = null;
  let pauseValue: PauseState | null = null;
  const members = new Map<string, MemberStatus>();
  const registry = new Map<string, Registration>();
  const adminStates = new Map<string, AdminState>();
  const removedStates = new Map<string, RemovedState>();
  const proxies = new Map<string, ProxyView>();
  const rejected: RejectedValue[] = [];
  for (const { key, value, revision: rev } of pairs) {
    const accept = <T>(schema: z.ZodType<T> | { text: true; schema: z.ZodType<T> }, use: (v: T) => string | void) => {
      const v = 'text' in schema ? check(schema.schema, value) : parse(schema, value);
      const refused = v.ok ? use(v.value) : v.reason;
      if (refused) rejected.push({ key, revision: rev, reason: refused });
    };
    const suffix = (dir: string) => key.slice(`${k.root}${dir}/`.length);
    const named = (dir: string, n: string) => (n === suffix(dir) ? undefined : `names ${n}, but the key is ${suffix(dir)}`);
    switch (keyKind(k, key)) {
      case 'initialize':
        accept(plain(z.string().regex(/^\d{1,20}$/, 'not a system identifier')), (v) => void (initialize = v));
        break;
      case 'leader':
        accept(plain(name), (v) => void (leader = { name: v }));
        break;
      case 'optime':
        accept(optime, (v) => void (optimeValue = v));
        break;
      case 'failover':
        accept(failover, (v) => void (failoverValue = { value: v, revision: rev }));
        break;
      case 'sync':
        accept(sync, (v) => void (syncValue = { value: v, revision: rev }));
        break;
      case 'pause':
        accept(pause, (v) => void (pauseValue = v));
        break;
      case 'member':
        accept(member, (m) => named('members', m.name) ?? void members.set(m.name, m));
        break;
      case 'registration':
        accept(registration, (r) => named('registry', r.name) ?? void registry.set(r.name, r));
        break;
      case 'admin':
        accept(admin, (a) => void adminStates.set(suffix('admin'), a));
        break;
      case 'removed':
        accept(removed, (r) => void removedStates.set(suffix('removed'), r));
        break;
      case 'proxy':
        accept(proxyView, (p) => named('proxies', p.name) ?? void proxies.set(p.name, p));
        break;
      default:
        break;
    }
  }
  return {
    kind: 'snapshot',
    revision,
    initialize,
    leader,
    optime: optimeValue,
    failover: failoverValue,
    sync: syncValue,
    pause: pauseValue,
    members,
    registry,
    admin: adminStates,
    removed: removedStates,
    proxies,
    rejected,
  };
}

/** Events that fail validation are left out of the log a reader sees. */
export function parseEvents(values: readonly string[]): ClusterEvent[] {
  return values.map((v) => parse(event, v)).flatMap((e) => (e.ok ? [e.value] : []));
}

const lsnText = (l: Lsn | null) => (l === null ? null : formatLsn(l));
const iso = (ms: number) => new Date(ms).toISOString();

export const serialize = {
  member: (m: MemberStatus) => {
    const { updated_at_ms, ...rest } = m;
    return JSON.stringify({ ...rest, lsn: lsnText(m.lsn), replayed_lsn: lsnText(m.replayed_lsn), updated_at: iso(updated_at_ms) });
  },
  optime: (o: PrimaryOptime) => JSON.stringify({ ...o, lsn: formatLsn(o.lsn) }),
  failover: (r: FailoverRequest) => {
    const { requested_at_ms, draining_since_ms, ...rest } = r;
    return JSON.stringify({ ...rest, requested_at: iso(requested_at_ms), ...(draining_since_ms !== undefined ? { draining_since: iso(draining_since_ms) } : {}) });
  },
  sync: (s: SyncState) => JSON.stringify({ ...s, ...(s.narrowing ? { narrowing: { ...s.narrowing, lsn: formatLsn(s.narrowing.lsn) } } : {}) }),
  registration: (r: Registration) => JSON.stringify(r),
  admin: (a: AdminState) => JSON.stringify(a),
  removed: (r: RemovedState) => JSON.stringify(r),
  proxy: (p: ProxyView) => {
    const { updated_at_ms, ...rest } = p;
    return JSON.stringify({ ...rest, updated_at: iso(updated_at_ms) });
  },
  pause: (p: PauseState) => JSON.stringify(p),
  event: (e: ClusterEvent) => JSON.stringify(e),
};

/** A failover request in its stored (JSON) form. */
export type FailoverRequestJson = z.input<typeof failover>;

/** The stored form of a failover request, for API output. */
export const failoverJson = (r: FailoverRequest): FailoverRequestJson => JSON.parse(serialize.failover(r)) as FailoverRequestJson;
