/**
 * The local probe and the edges it carries between cycles: what the decision is told about the
 * local PostgreSQL, read without changing anything.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NO_EDGES, probeLocal, trackEdges, type ProbedState } from '../../../src/ha/observe.js';
import { parseLsn } from '../../../src/util/lsn.js';
import { standbyLocal } from '../../support/builders.js';
import { FakeInstance } from '../../support/fake-instance.js';

describe('probeLocal', () => {
  it('an empty data directory is reported as such, stopped', async () => {
    const pg = new FakeInstance();
    pg.mode = 'empty';
    const { state, sql } = await probeLocal(pg, 1000);
    assert.deepEqual({ dataDir: state.dataDir, postmaster: state.postmaster, sql }, { dataDir: 'empty', postmaster: 'stopped', sql: null });
  });

  it('a running primary: role, position and timeline from SQL', async () => {
    const pg = new FakeInstance();
    pg.inRecovery = false;
    pg.lsn = parseLsn('0/5000060');
    const { state, sql } = await probeLocal(pg, 1000);
    assert.equal(state.postmaster, 'running');
    assert.equal(state.role, 'primary');
    assert.equal(state.lsn, parseLsn('0/5000060'));
    assert.equal(state.wasPrimary, true);
    assert.ok(sql);
  });

  it('a postmaster that does not answer SQL yet is starting, its role from standby.signal', async () => {
    const pg = new FakeInstance();
    pg.mode = 'starting';
    const { state } = await probeLocal(pg, 1000);
    assert.deepEqual({ postmaster: state.postmaster, role: state.role, lsn: state.lsn }, { postmaster: 'starting', role: 'standby', lsn: null });
  });

  it('a postmaster that answers nothing within the deadline is unresponsive; one that refuses (starting up) is not', async () => {
    const pg = new FakeInstance();
    pg.hung = true;
    assert.deepEqual(await probeLocal(pg, 1000).then((p) => [p.state.postmaster, p.state.unresponsive]), ['starting', true]);
    pg.hung = false;
    pg.mode = 'starting';
    assert.deepEqual(await probeLocal(pg, 1000).then((p) => [p.state.postmaster, p.state.unresponsive]), ['starting', false]);
  });

  it('stopped: the position is the last checkpoint; a primary that crashed (in production) was a primary', async () => {
    const pg = new FakeInstance();
    pg.mode = 'stopped';
    pg.standbySignal = false;
    pg.control = { ...pg.control, state: 'in production', checkpointLsn: parseLsn('0/4000028') };
    const { state } = await probeLocal(pg, 1000);
    assert.deepEqual({ postmaster: state.postmaster, lsn: state.lsn, wasPrimary: state.wasPrimary }, { postmaster: 'stopped', lsn: parseLsn('0/4000028'), wasPrimary: true });
  });

  it('a fresh base backup (in production, but with standby.signal) was not a primary', async () => {
    const pg = new FakeInstance();
    pg.mode = 'stopped';
    pg.control = { ...pg.control, state: 'in production' };
    assert.equal((await probeLocal(pg, 1000)).state.wasPrimary, false);
  });

  it('reports orphans of a crashed postmaster without touching them', async () => {
    const pg = new FakeInstance();
    pg.mode = 'stopped';
    pg.orphans = true;
    assert.equal((await probeLocal(pg, 1000)).state.orphans, true);
    assert.deepEqual(pg.calls, [], 'observing reaps nothing');
  });
});

const state = (over: Partial<ProbedState>): ProbedState => ({ ...standbyLocal, diskFull: false, ...over });
const ctx = { stoppedOnPurpose: false, inFlight: false };

describe('trackEdges', () => {
  it('hung: the postmaster that answered stops answering; a fresh postmaster still starting is not hung', () => {
    const answered = trackEdges(NO_EDGES, state({ role: 'primary', pid: 10 }), 100, ctx);
    const mute = { role: 'primary', postmaster: 'starting', unresponsive: true } as const;
    const silent = trackEdges(answered, state({ ...mute, pid: 10 }), 200, ctx);
    assert.equal(silent.hungSince, 200);
    assert.equal(trackEdges(silent, state({ ...mute, pid: 10 }), 900, ctx).hungSince, 200, 'since it first went silent');
    assert.equal(trackEdges(silent, state({ role: 'primary', pid: 10 }), 1000, ctx).hungSince, null, 'it answers again');
    assert.equal(trackEdges(silent, state({ ...mute, pid: 11 }), 1000, ctx).hungSince, null, 'a new postmaster starting up');
    assert.equal(trackEdges(NO_EDGES, state({ ...mute, pid: 10 }), 100, ctx).hungSince, null, 'never answered under this agent');
    assert.equal(trackEdges(answered, state({ ...mute, unresponsive: false, pid: 10 }), 200, ctx).hungSince, null, 'it answers "starting up": working, not hung');
  });

  it('down counts as a crash only after PostgreSQL ran under this agent', () => {
    const first = trackEdges(NO_EDGES, state({ postmaster: 'stopped' }), 100, ctx);
    assert.equal(first.downSince, null, 'a first start is no crash');
    const ran = trackEdges(first, state({}), 200, ctx);
    const crashed = trackEdges(ran, state({ postmaster: 'stopped' }), 300, ctx);
    assert.equal(crashed.downSince, 300);
    assert.equal(trackEdges(crashed, state({ postmaster: 'stopped' }), 900, ctx).downSince, 300, 'since the first cycle it was seen down');
    assert.equal(trackEdges(crashed, state({}), 1000, ctx).downSince, null);
  });

  it('a stop on purpose or a long action is no crash', () => {
    const ran = trackEdges(NO_EDGES, state({}), 100, ctx);
    assert.equal(trackEdges(ran, state({ postmaster: 'stopped' }), 200, { ...ctx, stoppedOnPurpose: true }).downSince, null);
    assert.equal(trackEdges(ran, state({ postmaster: 'stopped' }), 200, { ...ctx, inFlight: true }).downSince, null);
  });

  it('a standby not streaming, and a primary with no streaming standby, since the first cycle seen so', () => {
    let e = trackEdges(NO_EDGES, state({ streaming: false }), 100, ctx);
    e = trackEdges(e, state({ streaming: false }), 500, ctx);
    assert.equal(e.notStreamingSince, 100);
    assert.equal(trackEdges(e, state({}), 600, ctx).notStreamingSince, null);
    const p = trackEdges(NO_EDGES, state({ role: 'primary' }), 100, ctx);
    assert.equal(p.noReplicaSince, 100);
    const withReplica = state({ role: 'primary', replicas: [{ name: 'n2', state: 'streaming', flushLsn: 0n, replyAgeMs: 10 }] });
    assert.equal(trackEdges(p, withReplica, 200, ctx).noReplicaSince, null);
  });
});
