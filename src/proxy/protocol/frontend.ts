/**
 * Reading what a client sends: the startup-phase packets and the Query message. Pure.
 */
import { StartupCode } from './codes.js';
import { ProtocolError } from './errors.js';

export type StartupPacket =
  | { readonly kind: 'startup'; readonly params: ReadonlyMap<string, string> }
  | { readonly kind: 'ssl' }
  | { readonly kind: 'gssenc' }
  | { readonly kind: 'cancel'; readonly pid: number; readonly secret: number };

/** Parses the body of a startup-phase packet (after its length). */
export function parseStartupPacket(body: Buffer): StartupPacket {
  const code = body.readInt32BE(0);
  switch (code) {
    case StartupCode.SSLRequest:
      return { kind: 'ssl' };
    case StartupCode.GSSENCRequest:
      return { kind: 'gssenc' };
    case StartupCode.CancelRequest:
      if (body.length !== 12) throw new ProtocolError('CancelRequest has the wrong length');
      return { kind: 'cancel', pid: body.readInt32BE(4), secret: body.readInt32BE(8) };
    case StartupCode.ProtocolV3:
      return { kind: 'startup', params: parseParams(body.subarray(4)) };
    default:
      throw new ProtocolError(`unsupported protocol version ${code >>> 16}.${code & 0xffff}`);
  }
}

/** key\0value\0 ... \0 */
function parseParams(buf: Buffer): Map<string, string> {
  const params = new Map<string, string>();
  let off = 0;
  for (;;) {
    const end = buf.indexOf(0, off);
    if (end < 0) throw new ProtocolError('StartupMessage is not terminated');
    if (end === off) break;
    const key = buf.toString('utf8', off, end);
    const vEnd = buf.indexOf(0, end + 1);
    if (vEnd < 0) throw new ProtocolError(`StartupMessage parameter ${key} has no value`);
    params.set(key, buf.toString('utf8', end + 1, vEnd));
    off = vEnd + 1;
  }
  if (!params.has('user')) throw new ProtocolError('StartupMessage has no user');
  return params;
}

/**
 * A StartupMessage body with one more parameter, unless the client set it itself: PostgreSQL
 * takes any setting there as the session's default.
 */
export function withStartupDefault(body: Buffer, params: ReadonlyMap<string, string>, name: string, value: string): Buffer {
  if (params.has(name)) return body;
  // The body ends with the list's terminating NUL: the parameter goes just before it.
  return Buffer.concat([body.subarray(0, body.length - 1), Buffer.from(`${name}\0${value}\0\0`, 'utf8')]);
}

/** The SQL text of a Query message body. */
export function queryText(body: Buffer): string {
  const end = body.indexOf(0);
  if (end < 0) throw new ProtocolError('Query is not terminated');
  return body.toString('utf8', 0, end);
}

const SHOW_POOL_NODES = /^\s*show\s+pool_nodes\s*;?\s*\0/i;
/** White space before a keyword, as the pattern's \s takes it in ASCII: space, tab, LF, CR, FF, VT. */
const SPACE = new Set([0x20, 0x09, 0x0a, 0x0d, 0x0c, 0x0b]);
const SHOW = [0x73, 0x68, 0x6f, 0x77]; // "show"

/**
 * Whether the first `length` bytes of a Query body at `body[at]` are exactly `SHOW POOL_NODES`
 * (any case, optional `;`, white space around). The relay asks this of every simple query, so the
 * usual answer (a query that does not start with "show") is found without decoding any text.
 */
export function isShowPoolNodes(body: Buffer, at: number, length: number): boolean {
  const end = at + length;
  let i = at;
  while (i < end && SPACE.has(body[i]!)) i++;
  if (end - i < SHOW.length) return false;
  for (let k = 0; k < SHOW.length; k++) if ((body[i + k]! | 0x20) !== SHOW[k]) return false;
  return SHOW_POOL_NODES.test(body.toString('utf8', at, end));
}
