/**
 * The relay's hot path: follows message boundaries in a typed-message stream without assembling
 * messages. Bytes are forwarded as they arrive; the scanner only reports each message's type,
 * length and its first `capture` body bytes (enough for ReadyForQuery's status, BackendKeyData,
 * the Authentication code, or the start of a Query). O(bytes), no per-chunk copies; a message
 * wholly inside one chunk is reported in place, with no copy at all.
 * Pure: no sockets, no timers.
 */
import { ProtocolError } from './errors.js';

/**
 * One message seen: its type, its first `headLength` body bytes at `head[at]` (the chunk being
 * fed, or a buffer the scanner reuses: valid only during the call) and its length field.
 */
export type OnMessage = (type: number, head: Buffer, at: number, headLength: number, length: number) => void;

export class Scanner {
  private readonly header = Buffer.alloc(5);
  private headerFill = 0;
  private remaining = -1; // -1: reading a header
  private type = 0;
  private length = 0;
  private readonly head: Buffer;
  private headWant = 0;
  private headFill = 0;

  constructor(
    private readonly maxLength: number,
    private readonly onMessage: OnMessage,
    capture = 16,
  ) {
    this.head = Buffer.alloc(capture);
  }

  /** True between messages: a message of our own can be inserted into the stream here. */
  get atBoundary(): boolean {
    return this.remaining === -1 && this.headerFill === 0;
  }

  feed(chunk: Buffer): void {
    let i = 0;
    const end = chunk.length;
    while (i < end) {
      if (this.remaining === -1) {
        if (this.headerFill === 0 && end - i >= 5) {
          // Common case: the whole header is in this chunk.
          this.type = chunk.readUInt8(i);
          this.length = chunk.readInt32BE(i + 1);
          i += 5;
          const body = this.length - 4;
          if (this.length >= 4 && this.length <= this.maxLength && body <= end - i) {
            // Commoner still: the whole message is in this chunk; its head is read in place.
            this.onMessage(this.type, chunk, i, Math.min(this.head.length, body), this.length);
            i += body;
            continue;
          }
        } else {
          const n = Math.min(5 - this.headerFill, end - i);
          chunk.copy(this.header, this.headerFill, i, i + n);
          this.headerFill += n;
          i += n;
          if (this.headerFill < 5) return;
          this.headerFill = 0;
          this.type = this.header.readUInt8(0);
          this.length = this.header.readInt32BE(1);
        }
        if (this.length < 4) throw new ProtocolError(`invalid message length ${this.length}`);
        if (this.length > this.maxLength) throw new ProtocolError(`message length ${this.length} exceeds the limit of ${this.maxLength} bytes`);
        this.remaining = this.length - 4;
        this.headWant = Math.min(this.head.length, this.remaining);
        this.headFill = 0;
      } else {
        const n = Math.min(this.remaining, end - i);
        if (this.headFill < this.headWant) {
          const c = Math.min(n, this.headWant - this.headFill);
          chunk.copy(this.head, this.headFill, i, i + c);
          this.headFill += c;
        }
        this.remaining -= n;
        i += n;
      }
      if (this.remaining === 0) {
        this.remaining = -1;
        this.onMessage(this.type, this.head, 0, this.headWant, this.length);
      }
    }
  }
}
