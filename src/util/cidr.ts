/**
 * Address allowlists (the API's `allowlist`): CIDRs matched with Node's own BlockList.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** CIDRs (`10.0.0.0/8`, `2001:db8::/32`, a bare address) as a BlockList; a bad entry throws naming it. */
export function allowlistOf(cidrs: readonly string[]): BlockList | null {
  if (cidrs.length === 0) return null;
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr = '', bits] = c.split('/');
    const type = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : null;
    const prefix = bits === undefined ? (type === 'ipv4' ? 32 : 128) : Number(bits);
    if (!type || !Number.isInteger(prefix) || prefix < 0 || prefix > (type === 'ipv4' ? 32 : 128)) throw new Error(`not an address or CIDR: ${c}`);
    list.addSubnet(addr, prefix, type);
  }
  return list;
}

/** Whether `address` (as a socket reports it, IPv4-mapped IPv6 included) is in `list`. */
export function allowed(list: BlockList, address: string | undefined): boolean {
  if (!address) return false;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (v4) return list.check(v4, 'ipv4');
  return isIPv6(address) ? list.check(address, 'ipv6') : list.check(address, 'ipv4');
}
