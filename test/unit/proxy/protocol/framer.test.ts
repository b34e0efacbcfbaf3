import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ProtocolError } from '../../../../src/proxy/protocol/errors.js';
import { Framer, type Message } from '../../../../src/proxy/protocol/framer.js';
import { isShowPoolNodes, parseStartupPacket, queryText, withStartupDefault } from '../../../../src/proxy/protocol/frontend.js';
import { readyStatus } from '../../../../src/proxy/protocol/backend.js';
import { cancelRequest, gssencRequest, query, readyForQuery, sslRequest, startupPacket, sync, terminate, typed } from '../../../support/protocol-builder.js';

const MAX = 1 << 20;

/** Feeds chunks as a session would: after a StartupMessage, switch to typed messages. */
function frameAll(chunks: Buffer[], startup = true): { type: number | null; body: string }[] {
  const f = new Framer(MAX, startup);
  const out: Message[] = [];
  const take = (msgs: Message[]) => {
    for (const m of msgs) {
      out.push({ type: m.type, body: Buffer.from(m.body) });
      if (m.type === null) {
        if (parseStartupPacket(m.body).kind === 'startup') f.startNormalPhase();
        take(f.drain());
      }
    }
  };
  for (const c of chunks) take(f.push(c));
  assert.equal(f.pending, 0, 'no bytes left over');
  return out.map((m) => ({ type: m.type, body: m.body.toString('hex') }));
}

const golden = Buffer.concat([
  sslRequest(),
  startupPacket({ user: 'alice', database: 'app', application_name: 'pgbench' }),
  query('SELECT 1'),
  query('SHOW POOL_NODES'),
  typed('P', Buffer.from('\0SELECT $1\0\0\0', 'latin1')),
  sync(),
  terminate(),
]);

describe('protocol framer', () => {
  it('splits a session stream into its messages, startup phase then typed', () => {
    const msgs = frameAll([golden]);
    assert.deepEqual(
      msgs.map((m) => (m.type === null ? 'startup' : String.fromCharCode(m.type))),
      ['startup', 'startup', 'Q', 'Q', 'P', 'S', 'X'],
    );
  });

  it('gives the same messages whatever the chunking: split at every byte offset', () => {
    const whole = frameAll([golden]);
    for (let k = 0; k <= golden.length; k++) assert.deepEqual(frameAll([golden.subarray(0, k), golden.subarray(k)]), whole, `split at ${k}`);
  });

  it('gives the same messages fed one byte at a time', () => {
    const bytes = [...golden].map((b) => Buffer.from([b]));
    assert.deepEqual(frameAll(bytes), frameAll([golden]));
  });

  it('assembles a large message spread over many chunks', () => {
    const big = query('SELECT ' + 'x'.repeat(200_000));
    const chunks: Buffer[] = [];
    for (let i = 0; i < big.length; i += 1000) chunks.push(big.subarray(i, i + 1000));
    const [m] = frameAll(chunks, false);
    assert.equal(queryText(Buffer.from(m!.body, 'hex')).length, 'SELECT '.length + 200_000);
  });

  it('refuses an over-long length before buffering it', () => {
    const f = new Framer(1024, false);
    const header = Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff]);
    assert.throws(() => f.push(header), ProtocolError);
  });

  it('refuses an impossible length', () => {
    assert.throws(() => new Framer(MAX, false).push(Buffer.from([0x51, 0, 0, 0, 2])), /invalid message length 2/);
    assert.throws(() => new Framer(MAX, true).push(Buffer.from([0, 0, 0, 5, 0])), /invalid message length 5/);
  });

  it('keeps a truncated message pending (the client stopped mid-message)', () => {
    const f = new Framer(MAX, false);
    const q = query('SELECT 42');
    assert.deepEqual(f.push(q.subarray(0, q.length - 3)), []);
    assert.equal(f.pending, q.length - 3);
  });

  it('reads startup packets: StartupMessage, SSLRequest, GSSENCRequest, CancelRequest', () => {
    const body = (b: Buffer) => b.subarray(4);
    const s = parseStartupPacket(body(startupPacket({ user: 'bob', database: 'd' })));
    assert.equal(s.kind, 'startup');
    assert.equal(s.kind === 'startup' && s.params.get('user'), 'bob');
    assert.deepEqual(parseStartupPacket(body(sslRequest())), { kind: 'ssl' });
    assert.deepEqual(parseStartupPacket(body(gssencRequest())), { kind: 'gssenc' });
    assert.deepEqual(parseStartupPacket(body(cancelRequest(1234, -5))), { kind: 'cancel', pid: 1234, secret: -5 });
    assert.throws(() => parseStartupPacket(body(startupPacket({ database: 'd' }))), /no user/);
  });

  it('adds a session default to a StartupMessage unless the client set that parameter', () => {
    const body = (b: Buffer) => b.subarray(4);
    const params = (b: Buffer) => {
      const p = parseStartupPacket(b);
      return p.kind === 'startup' ? Object.fromEntries(p.params) : null;
    };
    const plain = body(startupPacket({ user: 'bob', database: 'd' }));
    const added = withStartupDefault(
      plain,
      new Map([
        ['user', 'bob'],
        ['database', 'd'],
      ]),
      'default_transaction_read_only',
      'on',
    );
    assert.deepEqual(params(added), { user: 'bob', database: 'd', default_transaction_read_only: 'on' });
    const own = body(startupPacket({ user: 'bob', default_transaction_read_only: 'off' }));
    assert.equal(
      withStartupDefault(
        own,
        new Map([
          ['user', 'bob'],
          ['default_transaction_read_only', 'off'],
        ]),
        'default_transaction_read_only',
        'on',
      ),
      own,
    );
  });

  it('knows SHOW POOL_NODES in any case and spacing, and nothing else', () => {
    const is = (sql: string) => {
      const body = Buffer.from(`${sql}\0`);
      return isShowPoolNodes(body, 0, Math.min(64, body.length));
    };
    for (const yes of ['SHOW POOL_NODES', 'show pool_nodes;', ' \t\n Show\r\nPool_Nodes ; ', '\fSHOW POOL_NODES']) assert.equal(is(yes), true, JSON.stringify(yes));
    for (const no of ['SELECT 1', 'SHOW pool_status', 'SHOWPOOL_NODES', 'SHOW POOL_NODES; SELECT 1', 'show', '', 'SET x = 1', 'SHOW POOL_NODES x'])
      assert.equal(is(no), false, JSON.stringify(no));
    // In place, in the middle of a chunk: only the given range counts.
    const chunk = Buffer.from('xxSHOW POOL_NODES\0yy');
    assert.equal(isShowPoolNodes(chunk, 2, 16), true);
    assert.equal(isShowPoolNodes(chunk, 2, 10), false);
  });

  it('reads the transaction status of ReadyForQuery', () => {
    const [z] = new Framer(MAX, false).push(readyForQuery('T'));
    assert.equal(String.fromCharCode(readyStatus(z!.body)), 'T');
  });

  it('random bytes either frame or raise ProtocolError: never anything else', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (startup, chunks) => {
        const f = new Framer(4096, startup);
        try {
          for (const c of chunks) {
            for (const m of f.push(Buffer.from(c))) {
              if (m.type === null) {
                parseStartupPacket(m.body);
                f.startNormalPhase();
                f.drain();
              }
            }
          }
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
        }
      }),
      { numRuns: 5000 },
    );
  });
});
