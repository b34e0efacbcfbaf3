/**
 * The cluster as an operator sees it (`cluster show`, GET /cluster): every registered node with
 * its live state, probed through its own agent's API, and the warnings an operator must read.
 */
import { fetchNodeReport, memberApiUrl } from '../client/api-client.js';
import type { HttpTls } from '../client/http.js';
import type { NodeReport } from '../client/node-report.js';
import { failoverJson, type FailoverRequestJson } from '../store/codec.js';
import type { CloneStatus, ClusterSnapshot, MemberStatus, Registration } from '../store/types.js';
import { formatLsn, lagBytes } from '../util/lsn.js';

export type DisplayStatus = '* running' | 'running' | '? unreachable' | '! failed' | 'stopped' | `cloning ${number}%`;

export interface MemberRow {
  readonly id: number;
  readonly name: string;
  readonly role: 'primary' | 'standby' | 'unknown';
  readonly status: DisplayStatus;
  readonly state: string;
  readonly upstream: string | null;
  readonly location: string;
  readonly priority: number;
  readonly timeline: number | null;
  readonly lsn: string | null;
  readonly lag_bytes: number | null;
  readonly streaming: boolean;
  /** Standbys: sync / quorum when in the recorded synchronous set, else async; null for others. */
  readonly sync: 'sync' | 'quorum' | 'async' | null;
  readonly host: string;
  readonly port: number;
  readonly api_url: string;
  readonly message: string | null;
  /** The base backup it is receiving, live from its agent (else its last published status); null otherwise. */
  readonly clone: CloneStatus | null;
  /** An operator detached it from load balancing: every proxy leaves it out (node detach). */
  readonly detached: boolean;
  /** How each running proxy routes to it now, by proxy name (their own health checks and the detach). */
  readonly proxies: Readonly<Record<string, 'up' | 'down' | 'detached'>>;
}

export interface ClusterReport {
  readonly leader: string | null;
  /** Since when the operator has paused automatic failover, restarts and rejoins (ISO time); null: not paused. */
  readonly paused_since: string | null;
  /** A whole-cluster stop or start under way (or done: a stopped cluster stays paused); null otherwise. */
  readonly cluster_operation: 'stop' | 'start' | null;
  /** A switchover or failover request not yet carried out, in its stored form. */
  readonly pending: FailoverRequestJson | null;
  readonly members: readonly MemberRow[];
  /** The floating address when the members have one configured, and who holds it (by their own last report). */
  readonly vip: { readonly address: string; readonly holders: readonly string[] } | null;
  readonly warnings: readonly string[];
}

const BUSY: ReadonlySet<string> = new Set(['cloning', 'rewinding', 'bootstrapping', 'starting', 'promoting', 'demoting']);

export type Prober = (reg: Registration) => Promise<NodeReport | null>;

/** Probes a member's GET /status (over HTTPS with `tls`); null when the agent does not answer within the deadline. */
export function httpProber(timeoutMs: number, tls: HttpTls | null = null): Prober {
  return (reg) => fetchNodeReport(reg, timeoutMs, tls);
}

/** Every registered member's live report, by name (null: its agent did not answer). */
export async function probeAll(snap: ClusterSnapshot, probe: Prober): Promise<Map<string, NodeReport | null>> {
  const regs = [...snap.registry.values()];
  const reports = await Promise.all(regs.map((r) => probe(r)));
  return new Map(regs.map((r, i) => [r.name, reports[i] ?? null]));
}

export async function buildClusterReport(snap: ClusterSnapshot, probe: Prober): Promise<ClusterReport> {
  const regs = [...snap.registry.values()].sort((a, b) => a.id - b.id);
  const live = await probeAll(snap, probe);
  const reports = regs.map((r) => live.get(r.name) ?? null);
  const leader = snap.leader?.name ?? null;
  const leaderIdx = regs.findIndex((r) => r.name === leader);
  const leaderLsn = leaderIdx >= 0 ? (reports[leaderIdx]?.lsn ?? snap.members.get(leader!)?.lsn ?? null) : null;
  const warnings: string[] = [];
  if (leader === null) warnings.push('no node holds the leader lock: the cluster has no primary');
  const syncRec = snap.sync?.value.leader === leader ? snap.sync.value : null;
  if (syncRec && (syncRec.count < syncRec.wanted || syncRec.members.length < syncRec.wanted)) {
    const n = syncRec.members.length;
    warnings.push(
      n === 0
        ? `synchronous replication is configured (${syncRec.mode}, ${syncRec.wanted}) but runs asynchronously: no eligible standby`
        : `synchronous replication runs below the configured count: ${n} synchronous standby(s) of ${syncRec.wanted} wanted`,
    );
  }

  const members = regs.map((reg, i): MemberRow => {
    const rep = reports[i] ?? null;
    const m: MemberStatus | undefined = snap.members.get(reg.name);
    const role = rep?.role ?? (m?.role && m.role !== 'unknown' ? m.role : reg.name === leader ? 'primary' : 'standby');
    const label = `node "${reg.name}" (ID: ${reg.id})`;
    const copy = rep ? rep.clone : (m?.clone ?? null);
    let status: DisplayStatus;
    if (!rep) {
      status = '? unreachable';
      if (!memberApiUrl(reg)) warnings.push(`${label}: its api_url ${reg.api_url} is not at its own host ${reg.host}: not asked (a forged registration?)`);
      warnings.push(`unable to connect to ${label}`, `${label} is registered as an active ${role} but is unreachable`);
    } else if (rep.running) {
      status = role === 'primary' ? '* running' : 'running';
      if (role === 'primary' && reg.name !== leader) warnings.push(`${label} runs as a primary but does not hold the leader lock`);
      if (role === 'standby' && !rep.streaming && leader !== null) warnings.push(`${label} is not streaming from the primary "${leader}"`);
      if (rep.disk_full) warnings.push(`${label}: the filesystem of its data directory is full`);
    } else if (copy) {
      status = `cloning ${copy.total_bytes > 0 ? Math.floor((100 * copy.done_bytes) / copy.total_bytes) : 0}%`;
      warnings.push(`${label} is not running yet: cloning from ${copy.from}`);
    } else if (snap.pause?.cluster === 'stop') {
      status = 'stopped';
    } else if (m && BUSY.has(m.state)) {
      // Down on purpose for a moment: the agent is rebuilding or starting it.
      status = 'stopped';
      warnings.push(`${label} is not running yet: ${m.state}`);
    } else {
      status = '! failed';
      warnings.push(`${label} is registered as an active ${role} but PostgreSQL is not running`);
    }
    const lsn = rep?.lsn ?? m?.lsn ?? null;
    const lag = role === 'standby' && rep?.running && lsn !== null && leaderLsn !== null ? Number(lagBytes(leaderLsn, lsn)) : null;
    return {
      id: reg.id,
      name: reg.name,
      role,
      status,
      state: m?.state ?? (rep ? 'unknown' : 'unreachable'),
      upstream: role === 'standby' ? (m?.upstream ?? leader) : null,
      location: reg.tags.location,
      priority: reg.tags.priority,
      timeline: rep ? rep.timeline : null,
      lsn: lsn === null ? null : formatLsn(lsn),
      lag_bytes: lag,
      // Live from the agent: the store copy lags when the agent itself just got its network back.
      streaming: rep?.streaming ?? m?.streaming ?? false,
      sync: role !== 'standby' ? null : syncRec?.members.includes(reg.name) ? (syncRec.mode === 'quorum' ? 'quorum' : 'sync') : 'async',
      host: reg.host,
      port: reg.port,
      api_url: reg.api_url,
      message: m?.message ?? null,
      clone: copy,
      detached: snap.admin.get(reg.name)?.detached ?? false,
      proxies: Object.fromEntries([...snap.proxies.values()].flatMap((p) => p.nodes.filter((n) => n.name === reg.name).map((n) => [p.name, n.status]))),
    };
  });
  const vip = vipOf(snap, leader, warnings);
  return {
    leader,
    paused_since: snap.pause?.at ?? null,
    cluster_operation: snap.pause?.cluster ?? null,
    pending: snap.failover ? failoverJson(snap.failover.value) : null,
    members,
    vip,
    warnings,
  };
}

/** Who holds the floating address; a holder that is not the leader, or two holders, is a warning. */
function vipOf(snap: ClusterSnapshot, leader: string | null, warnings: string[]): ClusterReport['vip'] {
  const statuses = [...snap.members.values()].filter((m) => m.vip !== null);
  const address = statuses[0]?.vip?.address;
  if (address === undefined) return null;
  const holders = statuses.filter((m) => m.vip?.held).map((m) => m.name);
  if (holders.length > 1) warnings.push(`the floating address ${address} is held by ${holders.length} nodes: ${holders.join(', ')}`);
  for (const h of holders.filter((n) => n !== leader)) warnings.push(`the floating address ${address} is held by "${h}", which does not hold the leader lock`);
  if (leader !== null && holders.length === 0) warnings.push(`nobody holds the floating address ${address}`);
  return { address, holders };
}
