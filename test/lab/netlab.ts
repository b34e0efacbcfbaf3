/**
 * The fault lab's network: every "host" is a Linux network namespace with one address on a
 * private bridge. The bridge lives in a namespace of its own, so the lab adds nothing to the
 * machine's own network and its traffic (198.18.0.0/24, the range reserved for network test labs)
 * never leaves its namespaces. Needs root.
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

const execP = promisify(execFile);

/** The namespaces' prefix; PGW_LAB_NAME gives a second lab its own (two labs can then run at once). */
export const LAB = process.env.PGW_LAB_NAME ?? 'pgwlab';
export const SUBNET = '198.18.0';
const SWITCH = `${LAB}-sw`;

export const ns = (host: string) => `${LAB}-${host}`;

/** Namespaces left by an earlier run that did not clean up (killed before its teardown ran). */
export function leftovers(): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${LAB}-`));
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Every process running in a namespace. */
function nsPids(n: string): number[] {
  return execFileSync('ip', ['netns', 'pids', n], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
}

/** SIGKILL to every process of a namespace at once. */
function killNamespace(n: string): void {
  for (const pid of nsPids(n)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/**
 * The data disks (tmpfs, device `${LAB}-<host>`) of a lab whose teardown never ran (interrupted
 * while it started): unmounted, and their lab directory (two levels up) removed. Returns how many.
 */
export function unmountLeftoverDisks(): number {
  const points = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter(([dev]) => dev?.startsWith(`${LAB}-`))
    .map(([, point]) => point ?? '');
  for (const p of points) {
    execFileSync('umount', ['-l', p]);
    rmSync(dirname(dirname(p)), { recursive: true, force: true });
  }
  return points.length;
}

/** Kills every process of every lab namespace, then deletes the namespaces. Idempotent. */
export function cleanAll(): void {
  for (const n of leftovers()) {
    killNamespace(n);
    try {
      ip('netns', 'del', n);
    } catch {
      // already gone
    }
  }
}

export class NetLab {
  private readonly addrs = new Map<string, string>();
  /** Extra environment for commands run with run() (e.g. PGPASSWORD for psql in the hosts). */
  runEnv: Record<string, string> = {};

  private constructor(readonly hosts: readonly string[]) {}

  /** Creates the switch and one namespace per host; `hosts` maps names to the last address byte. */
  static create(hosts: Record<string, number>): NetLab {
    const left = leftovers();
    if (left.length) throw new Error(`leftovers of an earlier lab run exist (${left.join(', ')}); clean them with: npm run lab:clean`);
    const lab = new NetLab(Object.keys(hosts));
    try {
      ip('netns', 'add', SWITCH);
      ip('-n', SWITCH, 'link', 'add', 'br0', 'type', 'bridge');
      ip('-n', SWITCH, 'link', 'set', 'br0', 'up');
      for (const [host, last] of Object.entries(hosts)) {
        const n = ns(host);
        const addr = `${SUBNET}.${last}`;
        ip('netns', 'add', n);
        ip('-n', n, 'link', 'set', 'lo', 'up');
        // Both ends are created inside the lab's namespaces: nothing ever appears in the host's.
        ip('-n', SWITCH, 'link', 'add', `s-${host}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n);
        ip('-n', SWITCH, 'link', 'set', `s-${host}`, 'master', 'br0', 'up');
        ip('-n', n, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
        ip('-n', n, 'link', 'set', 'eth0', 'up');
        lab.addrs.set(host, addr);
      }
    } catch (err) {
      cleanAll();
      throw err;
    }
    return lab;
  }

  addr(host: string): string {
    const a = this.addrs.get(host);
    if (!a) throw new Error(`no lab host ${host}`);
    return a;
  }

  /** Starts a long-running process inside a host. */
  spawn(host: string, cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', ns(host), cmd, ...args], { detached: true, ...opts });
  }

  /** Runs a command inside a host to completion. */
  async run(host: string, cmd: string, args: readonly string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await execP('ip', ['netns', 'exec', ns(host), cmd, ...args], {
        timeout: timeoutMs,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, ...this.runEnv },
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
    }
  }

  linkDown(host: string): void {
    ip('-n', ns(host), 'link', 'set', 'eth0', 'down');
  }

  linkUp(host: string): void {
    ip('-n', ns(host), 'link', 'set', 'eth0', 'up');
  }

  /** Every process running in a host's namespace. */
  pids(host: string): number[] {
    return nsPids(ns(host));
  }

  /** Every process of the host killed at once (an etcd member, a host's whole software). */
  killAll(host: string): void {
    killNamespace(ns(host));
  }

  /**
   * Power back on: the host comes back with only its own address (a floating one it held is gone,
   * as after a real reboot), then its network.
   */
  powerOn(host: string): void {
    for (const cidr of this.extraAddresses(host)) ip('-n', ns(host), 'addr', 'del', cidr, 'dev', 'eth0');
    this.linkUp(host);
  }

  /** Addresses on the host's eth0 besides its own (a floating one). */
  private extraAddresses(host: string): string[] {
    const out = execFileSync('ip', ['-n', ns(host), '-o', '-4', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
    return out
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .map((w) => w[w.indexOf('inet') + 1] ?? '')
      .filter((cidr) => cidr !== '' && !cidr.startsWith(`${this.addr(host)}/`));
  }

  /** Whether the host answers on `address`: its eth0 is up and has it. */
  async holds(host: string, address: string): Promise<boolean> {
    const { stdout } = await execP('ip', ['-n', ns(host), '-o', '-4', 'addr', 'show', 'dev', 'eth0', 'up']);
    return stdout.includes(` inet ${address}/`);
  }

  /** Power loss: every process of the host killed at once, then its network gone. */
  powerOff(host: string): void {
    this.killAll(host);
    this.linkDown(host);
  }

  /** Loads an nftables ruleset into a host (replacing the lab's table there). */
  nft(host: string, ruleset: string): void {
    this.clearNft(host);
    execFileSync('ip', ['netns', 'exec', ns(host), 'nft', '-f', '-'], { input: ruleset, stdio: ['pipe', 'ignore', 'pipe'] });
  }

  clearNft(host: string): void {
    try {
      execFileSync('ip', ['netns', 'exec', ns(host), 'nft', 'delete', 'table', 'inet', 'pgwlab'], { stdio: 'ignore' });
    } catch {
      // no table yet
    }
  }

  destroy(): void {
    cleanAll();
  }
}
