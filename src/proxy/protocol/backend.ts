/**
 * Reading what a server sends, as far as the proxy needs: authentication outcome, the cancel key,
 * and the transaction status of ReadyForQuery. Pure.
 */
import { ProtocolError } from './errors.js';

/** The Int32 subtype of an Authentication ('R') message. */
export function authCode(body: Buffer): number {
  if (body.length < 4) throw new ProtocolError('Authentication message too short');
  return body.readInt32BE(0);
}

/** BackendKeyData ('K'): the process id and secret a CancelRequest must quote. */
export function backendKey(body: Buffer): { pid: number; secret: number } {
  if (body.length !== 8) throw new ProtocolError('BackendKeyData has the wrong length');
  return { pid: body.readInt32BE(0), secret: body.readInt32BE(4) };
}

/** ReadyForQuery ('Z'): 'I' idle, 'T' in a transaction, 'E' in a failed transaction. */
export function readyStatus(body: Buffer): number {
  if (body.length !== 1) throw new ProtocolError('ReadyForQuery has the wrong length');
  return body[0]!;
}

/** The fields of an ErrorResponse or NoticeResponse, by their one-letter codes. */
export function errorFields(body: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  let off = 0;
  while (off < body.length && body[off] !== 0) {
    const code = String.fromCharCode(body[off]!);
    const end = body.indexOf(0, off + 1);
    if (end < 0) break;
    fields.set(code, body.toString('utf8', off + 1, end));
    off = end + 1;
  }
  return fields;
}
