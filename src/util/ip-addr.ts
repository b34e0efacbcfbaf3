/**
 * An IPv4 address on a network interface, through iproute2's `ip` (a fixed argv, never a shell).
 * Shared by the agent's floating IP and the lease guard, so Node built-ins only.
 */
import { execFile } from 'node:child_process';

export interface InterfaceAddress {
  readonly address: string;
  readonly prefix: number;
  readonly interface: string;
}

const IP_TIMEOUT_MS = 5000;

function ip(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: IP_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });
}

/** The address as the interface holds it (`a.b.c.d/len`, whatever the length), or null. */
export async function heldAs(a: InterfaceAddress): Promise<string | null> {
  const out = await ip(['-o', '-4', 'addr', 'show', 'dev', a.interface]);
  const words = out.split('\n').map((l) => l.trim().split(/\s+/));
  const w = words.find((ws) => ws[ws.indexOf('inet') + 1]?.startsWith(`${a.address}/`));
  return w ? (w[w.indexOf('inet') + 1] ?? null) : null;
}

/** Adds the address; a no-op when it is there already. */
export async function addAddress(a: InterfaceAddress): Promise<void> {
  await ip(['addr', 'replace', `${a.address}/${a.prefix}`, 'dev', a.interface]);
}

/** Removes the address whatever its prefix length; returns what was removed, null when it was not there. */
export async function removeAddress(a: InterfaceAddress): Promise<string | null> {
  const cidr = await heldAs(a);
  if (cidr !== null) await ip(['addr', 'del', cidr, 'dev', a.interface]);
  return cidr;
}
