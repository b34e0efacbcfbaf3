/**
 * The end of every scenario: stop the writer, wait for convergence, then check that every
 * acknowledged id is on the final primary (asynchronous replication may lose only the newest
 * writes of a primary that failed before sending them, and every such loss is reported) and that
 * every standby holds exactly the primary's data.
 */
import type { LabCluster } from './cluster.js';

export async function reconcile(c: LabCluster): Promise<{ lost: number[]; problems: string[]; notes: string[] }> {
  await c.stopChecker();
  const r = await c.waitConverged(90_000, 'the cluster to converge after the scenario');
  const primary = r.leader!;
  const onPrimary = await c.idsOn(primary);
  const lost = c.acks.filter((a) => !onPrimary.has(a.id));
  const problems: string[] = [];
  const notes: string[] = [];
  if (lost.length && c.sync !== 'off') {
    problems.push(
      `synchronous replication lost acknowledged ids: ${lost
        .map((a) => `${a.id}@${a.node}`)
        .slice(0, 10)
        .join(', ')}`,
    );
  } else if (lost.length) {
    // Allowed only as a tail: the last writes a failed primary acknowledged before it lost contact.
    const byNode = new Map<string, number[]>();
    for (const a of lost) byNode.set(a.node, [...(byNode.get(a.node) ?? []), a.id]);
    for (const [node, ids] of byNode) {
      const keptLater = c.acks.some((a) => a.node === node && onPrimary.has(a.id) && a.id > Math.min(...ids));
      if (node === primary || keptLater) problems.push(`acknowledged ids lost in the middle of ${node}'s writes: ${ids.slice(0, 10).join(', ')}`);
    }
    notes.push(
      `asynchronous replication: ${lost.length} acknowledged id(s) lost, all the newest writes of a failed primary: ${lost
        .map((a) => `${a.id}@${a.node}`)
        .slice(0, 10)
        .join(', ')}`,
    );
  }
  for (const h of c.db.filter((x) => x !== primary)) {
    const ids = await c.idsOn(h);
    if (ids.size !== onPrimary.size || [...onPrimary].some((id) => !ids.has(id))) problems.push(`${h} has ${ids.size} ids, the primary ${onPrimary.size}: not converged`);
  }
  return { lost: lost.map((a) => a.id), problems, notes };
}
