import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { requireBearer } from '../../../src/api/bearer.js';
import { allowlistOf, allowed } from '../../../src/util/cidr.js';

const TOKEN = 't'.repeat(40);

describe('the access check of mutating calls', () => {
  let app: FastifyInstance;
  const call = async (authorization?: string, url = '/open') =>
    (await app.inject({ method: 'POST', url, headers: authorization === undefined ? {} : { authorization }, remoteAddress: '10.1.2.3' })).statusCode;
  before(async () => {
    app = Fastify();
    app.post('/open', { preHandler: requireBearer(TOKEN, 'no token') }, async () => ({ ok: true }));
    app.post('/listed', { preHandler: requireBearer(TOKEN, 'no token', allowlistOf(['10.1.0.0/16'])) }, async () => ({ ok: true }));
    app.post('/elsewhere', { preHandler: requireBearer(TOKEN, 'no token', allowlistOf(['192.0.2.0/24'])) }, async () => ({ ok: true }));
    app.post('/none', { preHandler: requireBearer(undefined, 'no token') }, async () => ({ ok: true }));
    await app.ready();
  });
  after(() => app.close());

  it('only exactly "Bearer <token>" passes', async () => {
    assert.equal(await call(`Bearer ${TOKEN}`), 200);
    assert.equal(await call(`bearer ${TOKEN}`), 200, 'the scheme is case-insensitive, as HTTP says');
    for (const bad of [TOKEN, `Bearer  ${TOKEN}`, `Bearer ${TOKEN} `, `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, 'Bearer ', '']) {
      assert.equal(await call(bad), 401, JSON.stringify(bad));
    }
    assert.equal(await call(undefined), 401);
  });

  it('outside the allowlist: 403 even with the token; inside: the token decides', async () => {
    assert.equal(await call(`Bearer ${TOKEN}`, '/listed'), 200);
    assert.equal(await call('Bearer wrong', '/listed'), 401);
    assert.equal(await call(`Bearer ${TOKEN}`, '/elsewhere'), 403);
  });

  it('no token configured: 403 for everyone', async () => {
    assert.equal(await call(`Bearer ${TOKEN}`, '/none'), 403);
  });

  it('allowlists match IPv4, IPv6 and IPv4-mapped addresses', () => {
    const list = allowlistOf(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'])!;
    assert.equal(allowed(list, '10.200.1.1'), true);
    assert.equal(allowed(list, '::ffff:10.0.0.1'), true);
    assert.equal(allowed(list, '2001:db8::5'), true);
    assert.equal(allowed(list, '192.0.2.7'), true);
    assert.equal(allowed(list, '192.0.2.8'), false);
    assert.equal(allowed(list, '11.0.0.1'), false);
    assert.equal(allowed(list, undefined), false);
    assert.equal(allowlistOf([]), null);
    assert.throws(() => allowlistOf(['10.0.0.0/40']), /not an address or CIDR: 10\.0\.0\.0\/40/);
  });
});
