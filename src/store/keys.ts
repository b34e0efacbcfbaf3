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
    /** Present while the operator has paused automatic failover, restarts and rejoins. */
    pause: `${root}pause`,
    member: (name: string) => `${root}members/${name}`,
    registration: (name: string) => `${root}registry/${name}`,
    /** The operator's choice for a node in every proxy: detached or not. */
    admin: (name: string) => `${root}admin/${name}`,
    /** Left by `node remove`: that node's agent must not rejoin by itself. */
    removed: (name: string) => `${root}removed/${name}`,
    /** A running proxy's view of the nodes, bound to its session. */
    proxy: (name: string) => `${root}proxies/${name}`,
    eventsPrefix: `${root}~events/`,
  };
};

export type Keys = ReturnType<typeof keys>;

/** What kind of key a path is, so watchers can ignore the chatter of member updates. */
export type KeyKind = 'initialize' | 'leader' | 'optime' | 'failover' | 'sync' | 'pause' | 'member' | 'registration' | 'admin' | 'removed' | 'proxy' | 'event' | 'other';

export function keyKind(k: Keys, key: string): KeyKind {
  if (key === k.initialize) return 'initialize';
  if (key === k.leader) return 'leader';
  if (key === k.optime) return 'optime';
  if (key === k.failover) return 'failover';
  if (key === k.sync) return 'sync';
  if (key === k.pause) return 'pause';
  if (key.startsWith(`${k.root}members/`)) return 'member';
  if (key.startsWith(`${k.root}registry/`)) return 'registration';
  if (key.startsWith(`${k.root}admin/`)) return 'admin';
  if (key.startsWith(`${k.root}removed/`)) return 'removed';
  if (key.startsWith(`${k.root}proxies/`)) return 'proxy';
  if (key.startsWith(k.eventsPrefix)) return 'event';
  return 'other';
}

/** Event keys sort by time: 13-digit milliseconds, a per-writer sequence, the writer's name. */
export function eventKey(k: Keys, atMs: number, seq: number, node: string): string {
  return `${k.eventsPrefix}${String(atMs).padStart(13, '0')}-${String(seq % 1e6).padStart(6, '0')}-${node}`;
}
