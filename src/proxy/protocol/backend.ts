/**
 * Reading what a server sends, as far as the proxy needs: the cancel key and the transaction
 * status of ReadyForQuery. Pure. `length` is the body's length when `body` is a longer buffer
 * that holds it at its start (the relay's reused capture buffer: no view allocated per message).
 */
import { ProtocolError } from './errors.js';

/** BackendKeyData ('K'): the process id and secret a CancelRequest must quote. */
export function backendKey(body: Buffer, length = body.length): { pid: number; secret: number } {
  if (length !== 8) throw new ProtocolError('BackendKeyData has the wrong length');
  return { pid: body.readInt32BE(0), secret: body.readInt32BE(4) };
}

/** ReadyForQuery ('Z'): 'I' idle, 'T' in a transaction, 'E' in a failed transaction. */
export function readyStatus(body: Buffer, length = body.length): number {
  if (length !== 1) throw new ProtocolError('ReadyForQuery has the wrong length');
  return body.readUInt8(0);
}
