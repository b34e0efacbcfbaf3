/**
 * A real single-member etcd for tests, on free loopback ports in a temporary directory. It can be
 * paused (SIGSTOP) to make the store unreachable without closing sockets, as a hung etcd would.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../src/util/deadline.js';
import { freePorts } from './ports.js';

export interface TestEtcd {
  readonly endpoint: string;
  readonly pid: number;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export const ETCD_BIN = process.env.ETCD_BIN ?? '/usr/bin/etcd';

/** Client TLS for etcd (https, --client-cert-auth): its server certificate and the CA it trusts for clients. */
export interface EtcdTls {
  readonly caFile: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** A client certificate of that CA, for the health check. */
  readonly clientCert: string;
  readonly clientKey: string;
}

export async function startEtcd(opts: { tls?: EtcdTls } = {}): Promise<TestEtcd> {
  if (!existsSync(ETCD_BIN)) throw new Error(`etcd not found at ${ETCD_BIN}: run scripts/test.sh, which installs etcd-server`);
  const [client, peer] = await freePorts(2);
  const dir = mkdtempSync(join(tmpdir(), 'pgw-etcd-'));
  const tls = opts.tls;
  const endpoint = `${tls ? 'https' : 'http'}://127.0.0.1:${client}`;
  const child = spawn(
    ETCD_BIN,
    [
      '--name',
      'test',
      '--data-dir',
      join(dir, 'data'),
      '--listen-client-urls',
      endpoint,
      '--advertise-client-urls',
      endpoint,
      '--listen-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-cluster',
      `test=http://127.0.0.1:${peer}`,
      '--log-level',
      'error',
      ...(tls ? ['--cert-file', tls.serverCert, '--key-file', tls.serverKey, '--trusted-ca-file', tls.caFile, '--client-cert-auth'] : []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === 'x64' ? '' : process.arch } },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      `etcd to answer on ${endpoint}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`etcd exited: ${stderr}`);
        if (tls) return (await httpsStatus(`${endpoint}/health`, tls)) === 200;
        const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(500) });
        return res.ok;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    endpoint,
    pid: child.pid!,
    pause: () => stopEveryThread(child.pid!),
    resume: () => child.kill('SIGCONT'),
    stop,
  };
}

function httpsStatus(url: string, tls: EtcdTls): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { ca: readFileSync(tls.caFile), cert: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey), timeout: 500 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/**
 * SIGSTOP, then returns only once every thread of the process is stopped: the signal reaches a
 * thread running on another CPU a moment later, and a request sent in that moment would be served.
 */
function stopEveryThread(pid: number): void {
  process.kill(pid, 'SIGSTOP');
  const state = (task: string) => {
    try {
      return readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8').split(') ')[1]?.[0] ?? 'T';
    } catch {
      return 'T'; // the thread is gone
    }
  };
  const until = performance.now() + 2000;
  while (performance.now() < until) if (readdirSync(`/proc/${pid}/task`).every((t) => state(t).toUpperCase() === 'T')) return;
  throw new Error(`etcd ${pid} did not stop within 2 s`);
}
