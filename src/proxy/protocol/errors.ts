/**
 * A protocol violation by the peer: the session answers ErrorResponse (SQLSTATE 08P01) and closes
 * that one connection. Nothing else is affected.
 */
export class ProtocolError extends Error {
  readonly sqlstate = '08P01';

  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}
