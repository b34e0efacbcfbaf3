/**
 * Issue 15: the REST API over HTTPS with client certificates required (api.tls, verify_client),
 * the token checked exactly, and api.allowlist. Agents as processes on a real etcd; the agents
 * verify and enter each other's APIs with their own certificates (GET /cluster probes them all).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { httpCall } from '../../src/client/http.js';
import { cli } from '../support/cli.js';
import { etcdCluster, type ClusterHarness } from '../support/cluster.js';

describe('the REST API over HTTPS with client certificates, token and allowlist', { timeout: 180_000 }, () => {
  let c: ClusterHarness;
  let client: { endpoints: string[]; ca_file: string; cert_file: string; key_file: string; auth_token_file: string };
  let token = '';
  // node2 takes mutating calls from 192.0.2.0/24 only: never from this test's 127.0.0.1.
  before(async () => {
    c = await etcdCluster({ apiTls: true, apiAllowlist: { node2: ['192.0.2.0/24'] } });
    await c.waitStable(90_000);
    client = parseYaml(readFileSync(c.clientConfigFile, 'utf8')) as typeof client;
    token = readFileSync(client.auth_token_file, 'utf8').trim();
  });
  after(async () => {
    await c?.stop();
  });

  const tls = () => ({ ca: readFileSync(client.ca_file), cert: readFileSync(client.cert_file), key: readFileSync(client.key_file) });
  const post = (node: number, path: string, authorization: string | null, withCert = true) =>
    httpCall(`${client.endpoints[node - 1]}${path}`, {
      method: 'POST',
      timeoutMs: 5000,
      maxBytes: 1 << 20,
      tls: withCert ? tls() : { ca: readFileSync(client.ca_file) },
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: '{}',
    });

  it('cluster show over HTTPS: every member answers the others (mutual TLS between agents)', async () => {
    assert.ok(client.endpoints.every((e) => e.startsWith('https://')));
    const out = await cli('cluster', 'show', '--json', '-c', c.clientConfigFile);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    const report = JSON.parse(out.stdout) as { members: { name: string; status: string }[]; warnings: string[] };
    assert.deepEqual(report.warnings, []);
    assert.equal(report.members.filter((m) => m.status.includes('running')).length, 3, JSON.stringify(report.members));
  });

  it('a wrong, missing or malformed token: 401; the right one: 200', async () => {
    assert.equal((await post(1, '/pause', `Bearer ${token}x`)).status, 401);
    assert.equal((await post(1, '/pause', null)).status, 401);
    assert.equal((await post(1, '/pause', token)).status, 401, 'the scheme is required');
    assert.equal((await post(1, '/pause', `Bearer ${token}`)).status, 200);
    assert.equal((await post(1, '/resume', `Bearer ${token}`)).status, 200);
  });

  it('outside the allowlist: 403 even with the right token', async () => {
    const res = await post(2, '/pause', `Bearer ${token}`);
    assert.equal(res.status, 403);
    assert.match(res.text, /127\.0\.0\.1 is not in api\.allowlist/);
  });

  it('without a client certificate, or over plain HTTP: no answer at all', async () => {
    await assert.rejects(post(1, '/pause', `Bearer ${token}`, false));
    await assert.rejects(
      httpCall(client.endpoints[0]!.replace('https://', 'http://') + '/status', { timeoutMs: 3000, maxBytes: 1 << 20 }).then((r) => {
        if (r.status === 200) throw new Error('plain HTTP answered');
        return r;
      }),
      (err: Error) => err.message !== 'plain HTTP answered',
    );
  });

  it('the CLI with a node.yaml that has api.tls reaches that node over HTTPS', async () => {
    const nodeYaml = join(dirname(c.clientConfigFile), 'node1.yaml');
    const out = await cli('cluster', 'show', '--json', '-c', nodeYaml);
    assert.equal(out.code, 0, out.stdout + out.stderr);
  });
});
