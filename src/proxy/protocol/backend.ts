/**
 * Reading what a server sends, as far as the proxy needs: the cancel key and the transaction
 * status of ReadyForQuery. Pure. `at` and `length` place the body inside a longer buffer (the
 * relay's read buffer or capture buffer: no view allocated per message).
 */
import { ProtocolError } from './errors.js';

/** BackendKeyData ('K'): the process id and secret a CancelRequest must quote. */
export function backendKey(body: Buffer, at = 0, length = body.length - at): { pid: number; secret: number } {
  if (length !== 8) throw new ProtocolError('BackendKeyData has the wrong length');
  return { pid: body.readInt32BE(at), secret: body.readInt32BE(at + 4) };
}

/** ReadyForQuery ('Z'): 'I' idle, 'T' in a transaction, 'E' in a failed transaction. */
export function readyStatus(body: Buffer, at = 0, length = body.length - at): number {
  if (length !== 1) throw new ProtocolError('ReadyForQuery has the wrong length');
  return body.readUInt8(at);
}
