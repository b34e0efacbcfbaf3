/**
 * The lab's checker, run inside the client namespace: the writer (sequential ids to whichever
 * node is writable) and the split-brain sampler, reporting as JSON lines on stdout with wall-clock
 * times so the driver in another namespace can line them up with its faults.
 * Config: PGW_LAB_ENDPOINTS (JSON [{name, host, port}]), PGW_LAB_USER, PGW_LAB_PASSWORD (env, never argv).
 */
import { Sampler, Writer, type Endpoint } from '../support/workload.js';

const endpoints = JSON.parse(process.env.PGW_LAB_ENDPOINTS ?? '[]') as Endpoint[];
const cred = { user: process.env.PGW_LAB_USER ?? 'postgres', password: process.env.PGW_LAB_PASSWORD ?? '' };
const wall = (perf: number) => Math.round(performance.timeOrigin + perf);
const emit = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

const writer = new Writer(() => endpoints, cred, 'lab_acked');
const sampler = new Sampler(() => endpoints, cred, 150);
let reportedAcks = 0;
let reportedSplits = 0;

const flush = () => {
  for (const a of writer.acks.slice(reportedAcks)) emit({ t: 'ack', id: a.id, node: a.node, at: wall(a.at), conn: wall(a.connectedAt) });
  reportedAcks = writer.acks.length;
  for (const s of sampler.splitBrains.slice(reportedSplits)) emit({ t: 'split', at: wall(s.at), nodes: s.nodes });
  reportedSplits = sampler.splitBrains.length;
};

sampler.start();
for (;;) {
  try {
    await writer.start();
    break;
  } catch {
    await new Promise((r) => setTimeout(r, 200));
  }
}
emit({ t: 'ready' });
const timer = setInterval(flush, 100);
const stop = async () => {
  clearInterval(timer);
  await writer.stop();
  await sampler.stop();
  flush();
  emit({ t: 'done', rounds: sampler.rounds });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
