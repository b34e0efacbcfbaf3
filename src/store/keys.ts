/**
 * The key layout under `/<scope>/`. The event log lives under `~events/` so that it sorts after
 * every other key and a snapshot can be read as one range [prefix, prefix + '~').
 */
export const keys = (scope: string) => {
  const root = `/${scope}/`;
  return {
    root,
    /** End of the snapshot range (exclusive): everything but the event log. */
    snapshotEnd: `${root}~`,
    initialize: `${root}initialize`,
    leader: `${root}leader`,
    optime: `${root}optime`,
    failover: `${root}failover`,
    sync: `${root}sync`,
    member: (name: string) => `${root}members/${name}`,
    registration: (name: string) => `${root}registry/${name}`,
    /** The operator's choice for a node in every proxy: detached or not. */
    admin: (name: string) => `${root}admin/${name}`,
    eventsPrefix: `${root}~events/`,
  };
};

export type Keys = ReturnType<typeof keys>;

/** What kind of key a path is, so watchers can ignore the chatter of member updates. */
export type KeyKind = 'initialize' | 'leader' | 'optime' | 'failover' | 'sync' | 'member' | 'registration' | 'admin' | 'event' | 'other';

export function keyKind(k: Keys, key: string): KeyKind {
  if (key === k.initialize) return 'initialize';
  if (key === k.leader) return 'leader';
  if (key === k.optime) return 'optime';
  if (key === k.failover) return 'failover';
  if (key === k.sync) return 'sync';
  if (key.startsWith(`${k.root}members/`)) return 'member';
  if (key.startsWith(`${k.root}registry/`)) return 'registration';
  if (key.startsWith(`${k.root}admin/`)) return 'admin';
  if (key.startsWith(k.eventsPrefix)) return 'event';
  return 'other';
}

/** Event keys sort by time: 13-digit milliseconds, a per-writer sequence, the writer's name. */
export function eventKey(k: Keys, atMs: number, seq: number, node: string): string {
  return `${k.eventsPrefix}${String(atMs).padStart(13, '0')}-${String(seq % 1e6).padStart(6, '0')}-${node}`;
}

/** Builds a snapshot from raw key/value pairs (both backends share it, so they cannot drift). */
export function snapshotFromPairs(k: Keys, pairs: Iterable<{ key: string; value: string; revision: number }>, revision: number) {
  let initialize: string | null = null;
  let leader = null;
  let optime = null;
  let failover = null;
  let sync = null;
  const members = new Map();
  const registry = new Map();
  const admin = new Map();
  for (const { key, value, revision: rev } of pairs) {
    switch (keyKind(k, key)) {
      case 'initialize': initialize = value; break;
      case 'leader': leader = { name: value }; break;
      case 'optime': optime = parseJson(value); break;
      case 'failover': failover = { value: parseJson(value), revision: rev }; break;
      case 'sync': sync = { value: parseJson(value), revision: rev }; break;
      case 'member': { const m = parseJson(value); if (m) members.set(m.name, m); break; }
      case 'registration': { const r = parseJson(value); if (r) registry.set(r.name, r); break; }
      case 'admin': { const a = parseJson(value); if (a) admin.set(key.slice(`${k.root}admin/`.length), a); break; }
      default: break;
    }
  }
  return { kind: 'snapshot' as const, revision, initialize, leader, optime, failover, sync, members, registry, admin };
}

/** A value someone wrote by hand that is not JSON is ignored rather than crashing every agent. */
function parseJson(value: string): any {
  try {
    return JSON.parse(value);
  } catch {
    return null;
  }
}
