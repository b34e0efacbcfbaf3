/**
 * WAL positions. PostgreSQL prints an LSN as two hex halves ("16/B374D848"); we keep them as bigint
 * so that comparisons and lag arithmetic are exact.
 */
export type Lsn = bigint;

export function parseLsn(text: string): Lsn {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!m) throw new Error(`not an LSN: ${JSON.stringify(text)}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Bytes from `behind` to `ahead`, never negative. */
export function lagBytes(ahead: Lsn, behind: Lsn): bigint {
  return ahead > behind ? ahead - behind : 0n;
}
