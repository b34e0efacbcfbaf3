/**
 * GET /status is read from peers over the network: what comes back is validated once, at the
 * client, and anything else counts as no answer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeReportJson, parseNodeReport, type NodeReport } from '../../../src/client/node-report.js';
import { parseLsn } from '../../../src/util/lsn.js';

const tags = { priority: 100, location: 'x', nofailover: false, noloadbalance: false, nosync: false, clonefrom: false };
const report: NodeReport = {
  name: 'n2',
  running: true,
  postmaster: 'running',
  role: 'standby',
  lsn: parseLsn('0/3000060'),
  streaming: true,
  timeline: 2,
  tags,
  disk_full: false,
  clone: null,
  removed_at: null,
};

describe('the GET /status contract', () => {
  it('round-trips through its JSON form, LSN as text on the wire', () => {
    const wire = JSON.parse(JSON.stringify(nodeReportJson(report)));
    assert.equal(wire.lsn, '0/3000060');
    assert.deepEqual(parseNodeReport(wire), report);
  });

  it('a report without disk_full (an agent from before the field) reads as disk_full false', () => {
    const { disk_full: _, ...older } = nodeReportJson(report);
    assert.equal(parseNodeReport(older)?.disk_full, false);
  });

  it('a report without postmaster (an agent from before the field) reads as postmaster null', () => {
    const { postmaster: _, ...older } = nodeReportJson(report);
    assert.equal(parseNodeReport(older)?.postmaster, null);
  });

  it('refuses what is not a report: a malformed LSN, wrong types, garbage', () => {
    const wire = nodeReportJson(report);
    for (const bad of [{ ...wire, lsn: '0/XYZ' }, { ...wire, running: 'yes' }, { ...wire, role: 'leader' }, null, 'ok', [], {}]) {
      assert.equal(parseNodeReport(bad), null, JSON.stringify(bad));
    }
  });
});
