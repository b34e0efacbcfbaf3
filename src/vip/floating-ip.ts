/**
 * The leader's floating address (VIP): added to an interface with iproute2 and announced with
 * gratuitous ARP, so that clients and routers on the segment stop sending to the old holder's MAC
 * at once instead of when their ARP entry ages out. IPv4 only.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../util/errors.js';
import { addAddress, heldAs, removeAddress, type InterfaceAddress } from '../util/ip-addr.js';
import type { Logger } from '../util/log.js';

/** Unsolicited ARP announcements after an add, one a second: one can be lost. */
const ANNOUNCEMENTS = 3;
/** iputils arping: -U unsolicited (gratuitous) ARP, to update the neighbours' caches. */
const ARPING = '/usr/bin/arping';
/** CAP_NET_ADMIN: what adding an address to an interface takes. */
const CAP_NET_ADMIN = 12n;

export class FloatingIp {
  constructor(
    readonly address: InterfaceAddress,
    private readonly log: Logger,
  ) {}

  /** `198.51.100.10/24`, for messages. */
  cidr(): string {
    return `${this.address.address}/${this.address.prefix}`;
  }

  async held(): Promise<boolean> {
    return (await heldAs(this.address)) !== null;
  }

  /** Adds the address (a no-op when held), then announces it in the background. */
  async add(): Promise<void> {
    await addAddress(this.address);
    this.announce();
  }

  /** False when the address was not there. */
  async remove(): Promise<boolean> {
    return (await removeAddress(this.address)) !== null;
  }

  private announce(): void {
    const { address, interface: dev } = this.address;
    const args = ['-U', '-c', String(ANNOUNCEMENTS), '-w', String(ANNOUNCEMENTS + 1), '-I', dev, address];
    execFile(ARPING, args, { timeout: (ANNOUNCEMENTS + 2) * 1000 }, (err, _out, stderr) => {
      // Exit 1 is how arping -U ends when nobody answers an unsolicited ARP: that is the normal case.
      if (err && (err as { code?: unknown }).code !== 1) this.log.warn({ err: String(stderr).trim() || err.message }, `gratuitous ARP for ${address} failed`);
    });
  }
}

/**
 * Refuses a `vip:` this process cannot serve, naming the key: it must be allowed to change
 * addresses (root, or CAP_NET_ADMIN), the interface must exist, and iputils arping must be there.
 */
export function checkFloatingIp(a: InterfaceAddress): void {
  if (!hasNetAdmin()) throw new ConfigError(['vip'], 'managing an address takes root or CAP_NET_ADMIN; run the agent as root (PostgreSQL still runs as os_user)');
  try {
    execFileSync('ip', ['link', 'show', 'dev', a.interface], { stdio: 'ignore' });
  } catch {
    throw new ConfigError(['vip', 'interface'], `no network interface named ${a.interface} on this host`);
  }
  let version = '';
  try {
    version = execFileSync(ARPING, ['-V'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    // reported below
  }
  if (!version.includes('iputils')) throw new ConfigError(['vip'], `gratuitous ARP needs iputils arping at ${ARPING} (Debian: apt-get install iputils-arping)`);
}

function hasNetAdmin(): boolean {
  if (process.getuid?.() === 0) return true;
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    return eff !== undefined && ((BigInt(`0x${eff}`) >> CAP_NET_ADMIN) & 1n) === 1n;
  } catch {
    return false;
  }
}
