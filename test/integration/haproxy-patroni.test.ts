/**
 * Issue 16: Patroni's health endpoints, so that an HAProxy configuration written for Patroni works
 * unchanged. Debian's HAProxy with the configuration Patroni's documentation and its users show
 * (`option httpchk OPTIONS /master` for writes, `OPTIONS /replica` for reads, `http-check expect
 * status 200`, `on-marked-down shutdown-sessions`), in front of three agents on a real etcd: the
 * write frontend reaches the primary before and after a switchover, the read frontend a standby.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { httpCall } from '../../src/client/http.js';
import { waitFor } from '../../src/util/deadline.js';
import { cli } from '../support/cli.js';
import { etcdCluster, type ClusterHarness } from '../support/cluster.js';
import { freePorts } from '../support/ports.js';
import { sqlRows } from '../support/workload.js';

const HAPROXY = '/usr/sbin/haproxy';

describe("HAProxy with Patroni's documented health checks", { timeout: 240_000 }, () => {
  let c: ClusterHarness;
  let haproxy: ChildProcess | null = null;
  let rw = 0;
  let ro = 0;
  const dir = mkdtempSync(join(tmpdir(), 'pgw-haproxy-'));

  before(async () => {
    c = await etcdCluster();
    const r = await c.waitStable(90_000);
    [rw, ro] = (await freePorts(2)) as [number, number];
    const servers = r.members.map((m) => `    server ${m.name} 127.0.0.1:${m.port} maxconn 100 check port ${new URL(m.api_url).port}`).join('\n');
    const section = (name: string, port: number, check: string) =>
      [
        `listen ${name}`,
        `    bind 127.0.0.1:${port}`,
        `    option httpchk OPTIONS ${check}`,
        '    http-check expect status 200',
        '    default-server inter 3s fall 3 rise 2 on-marked-down shutdown-sessions',
        servers,
      ].join('\n');
    writeFileSync(
      join(dir, 'haproxy.cfg'),
      [
        'global',
        '    maxconn 100',
        'defaults',
        '    mode tcp',
        '    retries 2',
        '    timeout client 30m',
        '    timeout connect 4s',
        '    timeout server 30m',
        '    timeout check 5s',
        section('primary', rw, '/master'),
        section('standbys', ro, '/replica'),
        '',
      ].join('\n'),
    );
    haproxy = spawn(HAPROXY, ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
  });
  after(async () => {
    haproxy?.kill('SIGKILL');
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The port of the PostgreSQL a connection through `port` lands on, and whether it is in recovery. */
  const through = async (port: number) => {
    const [row] = await sqlRows(port, c.cred, 'SELECT inet_server_port() AS port, pg_is_in_recovery() AS standby');
    return { port: Number(row!.port), standby: row!.standby as boolean };
  };
  const portOf = (name: string) => c.endpoints.find((e) => e.name === name)!.port;

  it("answers Patroni's paths with its codes, for GET, HEAD and OPTIONS", async () => {
    const r = await c.report();
    const leader = r.members.find((m) => m.name === r.leader)!;
    const standby = r.members.find((m) => m.name !== r.leader)!;
    const code = async (url: string, method = 'GET') => (await httpCall(url, { method, timeoutMs: 5000, maxBytes: 1 << 20 })).status;
    const expect: [string, number, number][] = [
      ['/', 200, 503],
      ['/master', 200, 503],
      ['/primary', 200, 503],
      ['/read-write', 200, 503],
      ['/leader', 200, 503],
      ['/replica', 503, 200],
      ['/standby', 503, 200],
      ['/replica?lag=16MB', 503, 200],
      ['/read-only', 200, 200],
      ['/sync', 503, 503],
      ['/async', 503, 200],
      ['/health', 200, 200],
      ['/liveness', 200, 200],
      ['/readiness', 200, 200],
    ];
    for (const [path, onLeader, onStandby] of expect) {
      for (const method of ['GET', 'HEAD', 'OPTIONS']) {
        assert.equal(await code(`${leader.api_url}${path}`, method), onLeader, `${method} ${path} on the leader`);
        assert.equal(await code(`${standby.api_url}${path}`, method), onStandby, `${method} ${path} on a standby`);
      }
    }
    assert.equal(await code(`${standby.api_url}/replica?lag=abc`), 503, 'an unreadable lag fails the check');
  });

  it('the write frontend reaches the primary, the read frontend a standby', async () => {
    const primary = portOf((await c.report()).leader!);
    // HAProxy 2.6 takes a server for up until its checks say otherwise (fall 3 x inter 3 s): the
    // frontends route right once the first checks have run.
    const settled = async () => {
      const [w, r] = await Promise.all([through(rw).catch(() => null), through(ro).catch(() => null)]);
      return w && r && w.port === primary && !w.standby && r.standby ? { w, r } : false;
    };
    await waitFor(
      'HAProxy to route writes to the primary and reads to a standby, 10 times in a row',
      async () => {
        for (let i = 0; i < 10; i++) if (!(await settled())) return false;
        return true;
      },
      { timeoutMs: 40_000, intervalMs: 500 },
    );
  });

  it('after a switchover the write frontend reaches the new primary', async () => {
    const from = (await c.report()).leader!;
    const to = c.endpoints.find((e) => e.name !== from)!.name;
    const out = await cli('switchover', '--to', to, '--json', '-c', c.clientConfigFile);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    const w = await waitFor(
      `HAProxy to route writes to ${to}`,
      async () => {
        const t = await through(rw).catch(() => null);
        return t && t.port === portOf(to) && !t.standby ? t : false;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    assert.equal(w.port, portOf(to));
  });
});
