import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { loadClientConfig, loadNodeConfig, loadProxyConfig } from '../../../src/config/index.js';

const MAIN = resolve(import.meta.dirname, '../../../src/main.js');
const exec = promisify(execFile);

describe('shipped example and check-config', () => {
  it('docs/node.example.yaml is valid', () => {
    const cfg = loadNodeConfig(resolve(import.meta.dirname, '../../../../docs/node.example.yaml'));
    assert.equal(cfg.store.type, 'etcd');
  });

  it('docs/proxy.example.yaml is valid', () => {
    const cfg = loadProxyConfig(resolve(import.meta.dirname, '../../../../docs/proxy.example.yaml'));
    assert.equal(cfg.tls?.cert_file, '/etc/pgwarden/proxy.crt');
  });

  it('docs/cluster.example.yaml is valid; a proxy given as more than host:port is named', () => {
    const cfg = loadClientConfig(resolve(import.meta.dirname, '../../../../docs/cluster.example.yaml'));
    assert.deepEqual(cfg.proxies, ['http://10.0.0.31:5002', 'http://10.0.0.32:5002']);
    const dir = mkdtempSync(join(tmpdir(), 'pgw-cfg-'));
    try {
      writeFileSync(join(dir, 'c.yaml'), 'endpoints: [http://127.0.0.1:8008]\nproxies: [http://127.0.0.1:5002/nodes]\n');
      assert.throws(() => loadClientConfig(join(dir, 'c.yaml')), /proxies\.0: expected http:\/\/host:port/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('check-config exits 2 and names the key on a mistake', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgw-cfg-'));
    try {
      const file = join(dir, 'bad.yaml');
      writeFileSync(file, 'name: n1\ndata_dir: /x\npostgresql: {listen: nope}\n');
      const err = await exec(process.execPath, [MAIN, 'check-config', '-c', file]).then(
        () => null,
        (e) => e,
      );
      assert.ok(err, 'check-config must fail');
      assert.equal(err.code, 2);
      assert.match(err.stderr, /config error: postgresql\.listen: expected host:port/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pgwarden up --vip', () => {
  it('is refused with the reason and exit 2, before anything is created', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgw-up-vip-'));
    try {
      const err = await exec(process.execPath, [MAIN, 'up', '--dir', join(dir, 'cluster'), '--vip', '192.0.2.10']).then(
        () => null,
        (e) => e,
      );
      assert.ok(err, 'up --vip must fail');
      assert.equal(err.code, 2);
      assert.match(err.stderr, /--vip: a floating IP moves between hosts, and `pgwarden up` runs every node on this one host/);
      assert.equal(existsSync(join(dir, 'cluster')), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('shipped proxy example', () => {
  it('docs/proxy.example.yaml is valid', async () => {
    const { loadProxyConfig } = await import('../../../src/config/index.js');
    const cfg = loadProxyConfig(resolve(import.meta.dirname, '../../../../docs/proxy.example.yaml'));
    assert.equal(cfg.failover_wait, 30);
    assert.equal(cfg.weights.node2, 2);
  });
});
