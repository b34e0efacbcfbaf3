/**
 * Builders for pure tests: aView(), aSnapshot(), aMember(). Defaults describe a healthy standby
 * "n2" in a cluster led by "n1"; each test changes only what it is about.
 */
import type { HaConfig, LocalState, PeerStatus, View, WantedRegistration } from '../../src/ha/view.js';
import type { ClusterSnapshot, MemberStatus, Registration } from '../../src/store/types.js';
import { emptySnapshot } from '../../src/store/types.js';
import { parseLsn } from '../../src/util/lsn.js';

export const NOW = 1_000_000;
export const WALL = Date.parse('2026-11-21T12:00:00Z');

export const defaultConfig: HaConfig = {
  loopWaitMs: 1000,
  ttlMs: 10_000,
  retryTimeoutMs: 3000,
  maximumLagOnFailover: 1_048_576n,
  primaryStartTimeoutMs: 10_000,
  primaryHangTimeoutMs: 5000,
  tags: { priority: 100, location: 'default', nofailover: false, noloadbalance: false, nosync: false, clonefrom: false },
  sync: { mode: 'off', count: 1, strict: false },
};

export function aRegistration(name: string, id: number, over: Partial<Registration> = {}): Registration {
  return { name, id, host: '10.0.0.' + id, port: 5432, api_url: `http://10.0.0.${id}:8008`, tags: defaultConfig.tags, ...over };
}

/** A member's live status; LSNs in their text form for readability. */
export function aMember(name: string, over: Partial<Omit<MemberStatus, 'lsn' | 'replayed_lsn'>> & { lsn?: string | null; replayed_lsn?: string | null } = {}): MemberStatus {
  const { lsn = '0/3000000', replayed_lsn = '0/3000000', ...rest } = over;
  const l = (t: string | null) => (t === null ? null : parseLsn(t));
  return {
    name,
    role: 'standby',
    state: 'running',
    timeline: 1,
    lsn: l(lsn),
    replayed_lsn: l(replayed_lsn),
    upstream: 'n1',
    streaming: true,
    message: '',
    disk_full: false,
    vip: null,
    clone: null,
    updated_at_ms: WALL,
    ...rest,
  };
}

export class SnapshotBuilder {
  private s: { -readonly [K in keyof ClusterSnapshot]: ClusterSnapshot[K] } = { ...emptySnapshot(), initialize: '7000000000000000001' };
  private readonly members = new Map<string, MemberStatus>();
  private readonly registry = new Map<string, Registration>();

  constructor() {
    this.member(aMember('n1', { role: 'primary', upstream: null, streaming: false, lsn: '0/3000000' }));
    this.member(aMember('n2'));
    this.member(aMember('n3'));
    this.s.leader = { name: 'n1' };
    this.s.optime = { name: 'n1', lsn: parseLsn('0/3000000'), timeline: 1 };
  }

  member(m: MemberStatus): this {
    this.members.set(m.name, m);
    if (!this.registry.has(m.name)) this.registry.set(m.name, aRegistration(m.name, this.registry.size + 1));
    return this;
  }

  /** A registered member whose agent publishes no status (its session expired). */
  memberGone(name: string): this {
    this.members.delete(name);
    return this;
  }

  /** Replaces a member's registration (its tags, say). */
  register(reg: Registration): this {
    this.registry.set(reg.name, reg);
    return this;
  }

  leader(name: string | null): this {
    this.s.leader = name === null ? null : { name };
    return this;
  }

  optime(lsn: string, name = 'n1'): this {
    this.s.optime = { name, lsn: parseLsn(lsn), timeline: 1 };
    return this;
  }

  uninitialized(): this {
    this.s.initialize = null;
    return this;
  }

  switchover(from: string, to: string | null, requestedAt = WALL - 1000, drain: { timeoutS?: number; since?: number } = {}): this {
    this.s.failover = {
      value: {
        kind: 'switchover',
        from,
        to,
        requested_at_ms: requestedAt,
        ...(drain.timeoutS !== undefined ? { drain_timeout_s: drain.timeoutS } : {}),
        ...(drain.since !== undefined ? { draining_since_ms: drain.since } : {}),
      },
      revision: 42,
    };
    return this;
  }

  /** Proxies that published how they route to each node: proxy name -> node name -> status. */
  proxies(views: Record<string, Record<string, 'up' | 'down' | 'detached'>>): this {
    this.s.proxies = new Map(
      Object.entries(views).map(([name, nodes]) => [name, { name, nodes: Object.entries(nodes).map(([n, status]) => ({ name: n, status })), updated_at_ms: WALL }]),
    );
    return this;
  }

  /** An operator removed `name` (node remove). */
  removed(name: string): this {
    this.s.removed = new Map([[name, { at: new Date(WALL - 60_000).toISOString() }]]);
    return this;
  }

  /** The operator paused the cluster (for a whole-cluster stop or start, with `cluster`). */
  paused(cluster?: 'stop' | 'start'): this {
    this.s.pause = { at: new Date(WALL - 60_000).toISOString(), ...(cluster ? { cluster } : {}) };
    return this;
  }

  /** The recorded synchronous set, written by `leader`. */
  sync(members: string[], opts: { mode?: 'on' | 'quorum'; count?: number; leader?: string; narrowing?: { to: string[]; count: number; lsn: string } } = {}): this {
    const count = opts.count ?? 1;
    this.s.sync = {
      value: {
        leader: opts.leader ?? 'n1',
        members,
        mode: opts.mode ?? 'on',
        count,
        wanted: count,
        ...(opts.narrowing ? { narrowing: { ...opts.narrowing, lsn: parseLsn(opts.narrowing.lsn) } } : {}),
      },
      revision: 7,
    };
    return this;
  }

  build(): ClusterSnapshot {
    return { ...this.s, members: new Map(this.members), registry: new Map(this.registry) };
  }
}

export const aSnapshot = () => new SnapshotBuilder();

/** A healthy streaming standby's local state: the default of aView(), and a base for edge tests. */
export const standbyLocal: LocalState = {
  dataDir: 'valid',
  postmaster: 'running',
  role: 'standby',
  timeline: 1,
  lsn: parseLsn('0/3000000'),
  replayedLsn: parseLsn('0/3000000'),
  upstream: 'n1',
  streaming: true,
  downSince: null,
  notStreamingSince: null,
  noReplicaSince: null,
  wasPrimary: false,
  openTransactions: 0,
  syncStandbyNames: '',
  replicas: [],
  orphans: false,
  pid: 4242,
  unresponsive: false,
  hungSince: null,
  diskFullSince: null,
};

/** The registration a node wants: what aRegistration gives it, with no fixed id. */
export const wantedRegistration = (name: string): WantedRegistration => {
  const { id: _id, ...rest } = aRegistration(name, Number(/\d+$/.exec(name)?.[0] ?? 0));
  return { ...rest, id: null };
};

export class ViewBuilder {
  private v: { -readonly [K in keyof View]: View[K] } = {
    self: 'n2',
    registration: wantedRegistration('n2'),
    now: NOW,
    wallNow: WALL,
    config: defaultConfig,
    cluster: aSnapshot().build(),
    local: standbyLocal,
    lease: { mine: false, validUntil: 0, lastAttemptFailed: false },
    peers: new Map(),
    inFlight: null,
    vip: null,
  };

  self(name: string): this {
    this.v.self = name;
    this.v.registration = wantedRegistration(name);
    return this;
  }

  cluster(c: ClusterSnapshot | SnapshotBuilder): this {
    this.v.cluster = c instanceof SnapshotBuilder ? c.build() : c;
    return this;
  }

  storeUnavailable(): this {
    this.v.cluster = { kind: 'unavailable', error: 'etcd: deadline exceeded' };
    return this;
  }

  local(over: Partial<Omit<LocalState, 'lsn'>> & { lsn?: string | null }): this {
    const { lsn, ...rest } = over;
    this.v.local = { ...this.v.local, ...rest, ...(lsn !== undefined ? { lsn: lsn === null ? null : parseLsn(lsn) } : {}) };
    return this;
  }

  /** Our local PostgreSQL runs as the primary holding the lock, valid for `validFor` ms more. */
  primaryWithLock(validFor = 9000): this {
    this.self('n1');
    this.v.local = { ...standbyLocal, role: 'primary', upstream: null, streaming: false, wasPrimary: true };
    this.v.lease = { mine: true, validUntil: NOW + validFor, lastAttemptFailed: false };
    return this;
  }

  /** n1, a primary that went down, starting again while n2 leads on a newer timeline. */
  oldPrimaryBack(): this {
    this.self('n1');
    this.v.cluster = aSnapshot()
      .leader('n2')
      .member(aMember('n2', { role: 'primary', timeline: 2 }))
      .build();
    this.v.local = { ...this.v.local, postmaster: 'stopped', role: 'primary', wasPrimary: true };
    return this;
  }

  lease(l: View['lease']): this {
    this.v.lease = l;
    return this;
  }

  peer(name: string, over: Partial<Omit<PeerStatus, 'lsn'>> & { lsn?: string | null } = {}): this {
    const { lsn, ...rest } = over;
    const peers = new Map(this.v.peers);
    peers.set(name, {
      name,
      reachable: true,
      running: true,
      role: 'standby',
      lsn: lsn === undefined ? parseLsn('0/3000000') : lsn === null ? null : parseLsn(lsn),
      timeline: 1,
      tags: defaultConfig.tags,
      diskFull: false,
      ...rest,
    });
    this.v.peers = peers;
    return this;
  }

  config(over: Partial<HaConfig>): this {
    this.v.config = { ...this.v.config, ...over };
    return this;
  }

  /** Our tags: in the config and in the registration we want, as the composition root sets both. */
  tags(over: Partial<HaConfig['tags']>): this {
    this.v.config = { ...this.v.config, tags: { ...this.v.config.tags, ...over } };
    this.v.registration = { ...this.v.registration, tags: this.v.config.tags };
    return this;
  }

  /** A floating address is configured; `held`: whether our interface has it now. */
  vip(held: boolean | null): this {
    this.v.vip = { held };
    return this;
  }

  inFlight(kind: 'bootstrap' | 'clone' | 'rewind'): this {
    this.v.inFlight = { kind, startedAt: NOW - 1000, progress: '' };
    return this;
  }

  build(): View {
    return { ...this.v };
  }
}

export const aView = () => new ViewBuilder();
