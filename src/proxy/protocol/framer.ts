/**
 * Splits a byte stream into protocol messages, in two phases:
 *  - startup phase: length-only packets (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest);
 *  - normal phase: type byte + Int32 length.
 * A length below the minimum or above `maxLength` is a ProtocolError (the peer is broken or
 * hostile). Complete messages in one chunk are zero-copy views of it; a message spread over
 * several chunks is assembled once, from the list of its pieces (never by repeated concatenation).
 * The framer stops after each startup-phase packet: the caller decides what comes next (another
 * startup packet after an SSLRequest, typed messages after a StartupMessage) and calls drain().
 * Pure: Buffer in, messages out; no sockets, no timers.
 */
import { ProtocolError } from './errors.js';

export interface Message {
  /** Type byte in the normal phase; null for a startup-phase packet. */
  readonly type: number | null;
  /** The body: everything after the length field. */
  readonly body: Buffer;
}

export class Framer {
  private pieces: Buffer[] = [];
  private buffered = 0;

  constructor(
    private readonly maxLength: number,
    private startup: boolean,
  ) {}

  /** After the startup packet, the stream switches to typed messages. */
  startNormalPhase(): void {
    this.startup = false;
  }

  /** Bytes received but not yet part of a complete message. */
  get pending(): number {
    return this.buffered;
  }

  /** Feeds a chunk; returns every message it completes. Throws ProtocolError on a bad length. */
  push(chunk: Buffer): Message[] {
    const out: Message[] = [];
    let buf: Buffer;
    if (this.buffered === 0) buf = chunk;
    else {
      this.pieces.push(chunk);
      this.buffered += chunk.length;
      // Assemble only once a whole message is there.
      const need = this.needed(this.peekHeader());
      if (need === null || this.buffered < need) return out;
      buf = Buffer.concat(this.pieces, this.buffered);
      this.pieces = [];
      this.buffered = 0;
    }
    let off = 0;
    for (;;) {
      const rest = buf.length - off;
      const header = this.startup ? 4 : 5;
      if (rest < header) break;
      const type = this.startup ? null : buf.readUInt8(off);
      const len = buf.readInt32BE(this.startup ? off : off + 1);
      this.check(len);
      const total = (this.startup ? 0 : 1) + len;
      if (rest < total) break;
      out.push({ type, body: buf.subarray(off + header, off + total) });
      off += total;
      // A startup packet is followed by typed messages only once the caller says so (after
      // SSLRequest the client may send another startup packet), so stop at each one.
      if (type === null) break;
    }
    if (off < buf.length) {
      const rest = buf.subarray(off);
      this.pieces = [rest];
      this.buffered = rest.length;
    }
    return out;
  }

  /** Hands over the raw bytes not yet framed (the relay forwards them as they are). */
  takeRemaining(): Buffer {
    const rest = Buffer.concat(this.pieces, this.buffered);
    this.pieces = [];
    this.buffered = 0;
    return rest;
  }

  /** Messages still pending after a phase switch, without new input. */
  drain(): Message[] {
    if (this.buffered === 0) return [];
    const buf = Buffer.concat(this.pieces, this.buffered);
    this.pieces = [];
    this.buffered = 0;
    return this.push(buf);
  }

  private peekHeader(): Buffer | null {
    const header = this.startup ? 4 : 5;
    if (this.buffered < header) return null;
    const first = this.pieces[0];
    if (first && first.length >= header) return first;
    return Buffer.concat(this.pieces, this.buffered).subarray(0, header);
  }

  /** Total bytes of the message whose header is `h`, or null while the header is incomplete. */
  private needed(h: Buffer | null): number | null {
    if (h === null) return null;
    const len = h.readInt32BE(this.startup ? 0 : 1);
    this.check(len);
    return (this.startup ? 0 : 1) + len;
  }

  private check(len: number): void {
    // A startup packet holds at least its length and its code.
    if (len < (this.startup ? 8 : 4)) throw new ProtocolError(`invalid message length ${len}`);
    if (len > this.maxLength) throw new ProtocolError(`message length ${len} exceeds the limit of ${this.maxLength} bytes`);
  }
}
