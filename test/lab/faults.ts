/**
 * The lab's catalogue of faults for the nemesis: each picks its target from the cluster as it is,
 * starts, and heals. Targets and durations come from the caller's seeded random source, so a run is
 * reproducible from its seed (the cluster's own timing still varies).
 */
import type { LabCluster } from './cluster.js';

export type Random = () => number;

export interface Fault {
  readonly kind: string;
  /** Done once injected (a kill whose recovery is the agent's): not held, unless in a pair. */
  readonly instant?: boolean;
  /** The host it hits: the primary, another database host, or an etcd member. */
  target(c: LabCluster, primary: string, rnd: Random): Promise<string> | string;
  inject(c: LabCluster, host: string): Promise<void> | void;
  heal(c: LabCluster, host: string): Promise<void> | void;
}

const ETCD = ['etcd1', 'etcd2', 'etcd3'];

export const pick = <T>(rnd: Random, xs: readonly T[]): T => {
  const x = xs[Math.floor(rnd() * xs.length)];
  if (x === undefined) throw new Error('pick from an empty list');
  return x;
};

/** Mostly the primary (where faults matter), sometimes a standby. */
const primaryMostly = (c: LabCluster, primary: string, rnd: Random) => (rnd() < 0.75 ? primary : pick(rnd, c.db));
const anyDb = (c: LabCluster, _primary: string, rnd: Random) => pick(rnd, c.db);

/** The etcd member that leads now, asked from the client host. */
async function etcdLeader(c: LabCluster): Promise<string> {
  for (const h of ETCD) {
    const script = `fetch('http://${c.addr(h)}:2379/v3/maintenance/status',{method:'POST',body:'{}'}).then(r=>r.json()).then(j=>console.log(j.header.member_id===j.leader?'yes':'no'),()=>console.log('no'))`;
    const r = await c.lab.run('client', process.execPath, ['-e', script], 3000);
    if (r.stdout.trim() === 'yes') return h;
  }
  return pick(Math.random, ETCD);
}

const flapping = new Map<string, NodeJS.Timeout>();

export const FAULTS: readonly Fault[] = [
  { kind: 'postmaster_kill', instant: true, target: primaryMostly, inject: (c, h) => void c.killPostgres(h), heal: () => {} },
  { kind: 'agent_kill', target: primaryMostly, inject: (c, h) => c.killAgent(h), heal: (c, h) => c.startAgent(h) },
  { kind: 'agent_freeze', target: primaryMostly, inject: (c, h) => c.freezeAgent(h, true), heal: (c, h) => c.freezeAgent(h, false) },
  { kind: 'postgres_freeze', target: primaryMostly, inject: (c, h) => void c.freezePostgres(h, true), heal: (c, h) => void c.freezePostgres(h, false) },
  {
    kind: 'power_loss',
    target: anyDb,
    inject: (c, h) => c.lab.powerOff(h),
    heal(c, h) {
      c.lab.powerOn(h);
      c.startAgent(h);
    },
  },
  { kind: 'nic_down', target: anyDb, inject: (c, h) => c.lab.linkDown(h), heal: (c, h) => c.lab.linkUp(h) },
  {
    kind: 'nic_flapping',
    target: anyDb,
    inject(c, h) {
      let up = true;
      flapping.set(
        h,
        setInterval(() => {
          up = !up;
          if (up) c.lab.linkUp(h);
          else c.lab.linkDown(h);
        }, 1500),
      );
    },
    heal(c, h) {
      clearInterval(flapping.get(h));
      flapping.delete(h);
      c.lab.linkUp(h);
    },
  },
  {
    kind: 'cut_from_etcd',
    target: primaryMostly,
    inject(c, h) {
      const etcd = ETCD.map((e) => c.addr(e)).join(', ');
      c.lab.nft(
        h,
        `table inet pgwlab {
  chain out { type filter hook output priority 0; ip daddr { ${etcd} } drop; }
  chain in { type filter hook input priority 0; ip saddr { ${etcd} } drop; }
}`,
      );
    },
    heal: (c, h) => c.lab.clearNft(h),
  },
  { kind: 'etcd_member_kill', target: (_c, _p, rnd) => pick(rnd, ETCD), inject: (c, h) => c.lab.killAll(h), heal: (c, h) => c.startEtcd(h) },
  { kind: 'etcd_leader_kill', target: (c) => etcdLeader(c), inject: (c, h) => c.lab.killAll(h), heal: (c, h) => c.startEtcd(h) },
  {
    kind: 'packet_loss',
    target: anyDb,
    inject(c, h) {
      c.lab.nft(
        h,
        `table inet pgwlab {
  chain loss_in { type filter hook input priority 0; iifname "eth0" numgen random mod 100 < 10 drop; }
  chain loss_out { type filter hook output priority 0; oifname "eth0" numgen random mod 100 < 10 drop; }
}`,
      );
    },
    heal: (c, h) => c.lab.clearNft(h),
  },
  {
    kind: 'disk_full',
    target: primaryMostly,
    inject: (c, h) => c.fillDisk(h, true),
    heal: (c, h) => c.fillDisk(h, false),
  },
];

/** Faults that may overlap with another on a different host without making the cluster unrecoverable by design. */
export const OVERLAPPABLE = new Set(['postmaster_kill', 'agent_kill', 'agent_freeze', 'nic_down', 'nic_flapping', 'packet_loss', 'etcd_member_kill']);
