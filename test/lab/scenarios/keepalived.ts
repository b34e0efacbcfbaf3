/**
 * KA1, KA2: keepalived as the field report sets it up (peers/keepalived/), for the same faults as
 * VIP1 and VIP3, measured in the same lab: did the address move, did the database behind it take
 * writes, and when. A peer's row passes when the measurement ran; what it measured is in its notes.
 */
import { keepalivedFault, OBSERVE_MS, type PeerOutcome } from '../keepalived.js';
import type { PeerScenario, ScenarioContext } from '../scenario.js';

function report(ctx: ScenarioContext, o: PeerOutcome): { splitBrainSamples: number } {
  ctx.note(
    `keepalived: the address ${o.holders.join() === 'db2' ? 'moved to db2' : `ended on ${o.holders.length ? o.holders.join(' and ') : 'no host'}`}; ` +
      `the database behind it ${o.writableBehind ? 'takes writes' : 'does not take writes'}; ` +
      `first write through it ${o.firstWriteS === null ? `none within ${OBSERVE_MS / 1000} s` : `after ${o.firstWriteS} s`}`,
  );
  if (o.checks) ctx.note(`health checks:\n${o.checks}`);
  if (o.firstWriteS !== null) ctx.recovered(o.firstWriteS);
  return { splitBrainSamples: o.splitBrainSamples };
}

export const KA1: PeerScenario = {
  id: 'KA1',
  title: 'keepalived (field report setup): postmaster kill -9 on the primary',
  standalone: async (ctx) => report(ctx, await keepalivedFault('postmaster_kill')),
};

export const KA2: PeerScenario = {
  id: 'KA2',
  title: "keepalived (field report setup): power loss of the primary's host",
  standalone: async (ctx) => report(ctx, await keepalivedFault('power_loss')),
};
