/**
 * What watches a lab cluster from outside, shared by pgwarden's clusters and the peers' (keepalived):
 * the checker in the client host (writers, the split-brain sampler, the writable set) and the
 * driver's sampler of which hosts answer on the floating address.
 */
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from '../../src/util/deadline.js';
import type { NetLab } from './netlab.js';

const CHECKER = resolve(import.meta.dirname, 'checker.js');
/** How often the driver looks at which hosts hold the floating address. */
const VIP_SAMPLE_MS = 200;

export interface Ack {
  id: number;
  node: string;
  at: number;
  conn: number;
}

/** What the checker reports, as it reports it (wall-clock ms). */
export interface CheckerRecord {
  readonly acks: Ack[];
  /** Writes acknowledged through the proxy (node 'proxy'), ids in lab_proxy_acked. */
  readonly proxyAcks: Ack[];
  /** Writes acknowledged through the floating address (node 'vip'), ids in lab_vip_acked. */
  readonly vipAcks: Ack[];
  readonly splits: { at: number; nodes: string[] }[];
  /** Every change of the set of writable nodes. */
  readonly writable: { at: number; nodes: string[] }[];
}

export const emptyRecord = (): CheckerRecord => ({ acks: [], proxyAcks: [], vipAcks: [], splits: [], writable: [] });

type Endpoint = { name: string; host: string; port: number };

/**
 * Starts the checker in the client host and resolves once every writer has acknowledged a few
 * writes. The password goes through the environment, never argv.
 */
export async function startChecker(
  lab: NetLab,
  o: { endpoints: Endpoint[]; password: string; proxy?: Endpoint | undefined; vip?: Endpoint | undefined },
  rec: CheckerRecord,
): Promise<ChildProcess> {
  const checker = lab.spawn('client', process.execPath, [CHECKER], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: {
      ...process.env,
      ...(o.proxy ? { PGW_LAB_PROXY: JSON.stringify(o.proxy) } : {}),
      ...(o.vip ? { PGW_LAB_VIP: JSON.stringify(o.vip) } : {}),
      PGW_LAB_ENDPOINTS: JSON.stringify(o.endpoints),
      PGW_LAB_USER: 'postgres',
      PGW_LAB_PASSWORD: o.password,
    },
  });
  let ready = false;
  createInterface({ input: checker.stdout! }).on('line', (line) => {
    const m = JSON.parse(line);
    if (m.t === 'ack') (m.via === 'proxy' ? rec.proxyAcks : m.via === 'vip' ? rec.vipAcks : rec.acks).push({ id: m.id, node: m.node, at: m.at, conn: m.conn });
    else if (m.t === 'split') rec.splits.push({ at: m.at, nodes: m.nodes });
    else if (m.t === 'writable') rec.writable.push({ at: m.at, nodes: m.nodes });
    else if (m.t === 'ready') ready = true;
  });
  try {
    await waitFor('the checker to start writing', () => ready && rec.acks.length > 5 && (!o.proxy || rec.proxyAcks.length > 5) && (!o.vip || rec.vipAcks.length > 5), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
  } catch (err) {
    checker.kill('SIGKILL');
    throw err;
  }
  return checker;
}

/** Samples which hosts answer on `address` until the returned stop() is awaited. */
export function sampleVip(lab: NetLab, hosts: readonly string[], address: string, samples: { at: number; holders: string[] }[]): () => Promise<void> {
  let sampling = true;
  const done = (async () => {
    while (sampling) {
      const at = Date.now();
      const held = await Promise.all(hosts.map((h) => lab.holds(h, address).catch(() => false)));
      samples.push({ at, holders: hosts.filter((_, i) => held[i]) });
      await new Promise((r) => setTimeout(r, VIP_SAMPLE_MS));
    }
  })();
  return async () => {
    sampling = false;
    await done;
  };
}
