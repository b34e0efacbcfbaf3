/**
 * The relay's hot path: follows message boundaries in a typed-message stream without assembling
 * messages. Bytes are forwarded as they arrive; the scanner only reports each message's type,
 * length and its first `capture` body bytes (enough for ReadyForQuery's status, BackendKeyData,
 * the Authentication code, or the start of a Query). O(bytes), no per-chunk copies.
 * Pure: no sockets, no timers.
 */
import { ProtocolError } from './errors.js';

export type OnMessage = (type: number, head: Buffer, length: number) => void;

export class Scanner {
  private readonly header = Buffer.alloc(5);
  private headerFill = 0;
  private remaining = -1; // -1: reading a header
  private type = 0;
  private length = 0;
  private head: Buffer = Buffer.alloc(0);
  private headFill = 0;

  constructor(
    private readonly maxLength: number,
    private readonly onMessage: OnMessage,
    private readonly capture = 16,
  ) {}

  /** True between messages: a message of our own can be inserted into the stream here. */
  get atBoundary(): boolean {
    return this.remaining === -1 && this.headerFill === 0;
  }

  feed(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining === -1) {
        const n = Math.min(5 - this.headerFill, chunk.length - i);
        chunk.copy(this.header, this.headerFill, i, i + n);
        this.headerFill += n;
        i += n;
        if (this.headerFill < 5) return;
        this.headerFill = 0;
        this.type = this.header[0]!;
        this.length = this.header.readInt32BE(1);
        if (this.length < 4) throw new ProtocolError(`invalid message length ${this.length}`);
        if (this.length > this.maxLength) throw new ProtocolError(`message length ${this.length} exceeds the limit of ${this.maxLength} bytes`);
        this.remaining = this.length - 4;
        this.head = Buffer.allocUnsafe(Math.min(this.capture, this.remaining));
        this.headFill = 0;
      } else {
        const n = Math.min(this.remaining, chunk.length - i);
        if (this.headFill < this.head.length) {
          const c = Math.min(n, this.head.length - this.headFill);
          chunk.copy(this.head, this.headFill, i, i + c);
          this.headFill += c;
        }
        this.remaining -= n;
        i += n;
      }
      if (this.remaining === 0) {
        this.remaining = -1;
        this.onMessage(this.type, this.head, this.length);
      }
    }
  }
}
