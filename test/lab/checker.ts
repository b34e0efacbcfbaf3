/**
 * The lab's checker, run inside the client namespace: the writer (sequential ids to whichever
 * node is writable) and the split-brain sampler, reporting as JSON lines on stdout with wall-clock
 * times so the driver in another namespace can line them up with its faults.
 * Config: PGW_LAB_ENDPOINTS (JSON [{name, host, port}]), PGW_LAB_USER, PGW_LAB_PASSWORD (env, never argv);
 * PGW_LAB_PROXY ({name, host, port}) adds a writer through the proxy (table lab_proxy_acked), PGW_LAB_VIP
 * one through the floating address (lab_vip_acked). Every change of the set of writable nodes is
 * reported too, so the driver can tell whether the holder of the floating address was writable.
 */
import { Sampler, Writer, type Endpoint } from '../support/workload.js';

const endpoints = JSON.parse(process.env.PGW_LAB_ENDPOINTS ?? '[]') as Endpoint[];
const cred = { user: process.env.PGW_LAB_USER ?? 'postgres', password: process.env.PGW_LAB_PASSWORD ?? '' };
const wall = (perf: number) => Math.round(performance.timeOrigin + perf);
const emit = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

const proxy = process.env.PGW_LAB_PROXY ? (JSON.parse(process.env.PGW_LAB_PROXY) as Endpoint) : null;
const vip = process.env.PGW_LAB_VIP ? (JSON.parse(process.env.PGW_LAB_VIP) as Endpoint) : null;
const writers = [
  { via: 'direct', writer: new Writer(() => endpoints, cred, 'lab_acked'), reported: 0 },
  ...(proxy ? [{ via: 'proxy', writer: new Writer(() => [proxy], cred, 'lab_proxy_acked'), reported: 0 }] : []),
  ...(vip ? [{ via: 'vip', writer: new Writer(() => [vip], cred, 'lab_vip_acked'), reported: 0 }] : []),
];
const sampler = new Sampler(
  () => endpoints,
  cred,
  150,
  (at, nodes) => emit({ t: 'writable', at: wall(at), nodes }),
);
let reportedSplits = 0;

const flush = () => {
  for (const w of writers) {
    for (const a of w.writer.acks.slice(w.reported)) emit({ t: 'ack', via: w.via, id: a.id, node: a.node, at: wall(a.at), conn: wall(a.connectedAt) });
    w.reported = w.writer.acks.length;
  }
  for (const s of sampler.splitBrains.slice(reportedSplits)) emit({ t: 'split', at: wall(s.at), nodes: s.nodes });
  reportedSplits = sampler.splitBrains.length;
};

sampler.start();
for (const { writer } of writers) {
  for (;;) {
    try {
      await writer.start();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
emit({ t: 'ready' });
const timer = setInterval(flush, 100);
const stop = async () => {
  clearInterval(timer);
  await Promise.all(writers.map((w) => w.writer.stop()));
  await sampler.stop();
  flush();
  emit({ t: 'done', rounds: sampler.rounds });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
