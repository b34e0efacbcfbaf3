/**
 * Which member APIs an agent or `GET /cluster` asks: never a URL the store names freely.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fetchNodeReport, memberApiUrl } from '../../../src/client/api-client.js';

describe("a member's API address", () => {
  it('is used only at the host the member registered for its PostgreSQL', () => {
    assert.equal(memberApiUrl({ host: '10.0.0.1', api_url: 'http://10.0.0.1:8008' }), 'http://10.0.0.1:8008');
    assert.equal(memberApiUrl({ host: '::1', api_url: 'http://[::1]:8008' }), 'http://[::1]:8008');
    assert.equal(memberApiUrl({ host: '10.0.0.1', api_url: 'http://169.254.169.254:80' }), null);
    assert.equal(memberApiUrl({ host: '10.0.0.1', api_url: 'http://10.0.0.1.evil.example:8008' }), null);
    assert.equal(memberApiUrl({ host: '10.0.0.1', api_url: 'not a url' }), null);
  });

  describe('fetching its report', () => {
    let server: Server;
    let port = 0;
    before(async () => {
      server = createServer((req, res) => {
        if (req.url === '/status') return void res.end('x'.repeat(200_000));
        res.statusCode = 404;
        res.end();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as AddressInfo).port;
    });
    after(() => server.close());

    it('an answer over 64 KiB is no report', async () => {
      assert.equal(await fetchNodeReport({ host: '127.0.0.1', api_url: `http://127.0.0.1:${port}` }, 2000), null);
    });
  });
});
