/**
 * Socket reads without a fresh buffer per read. A plain Node socket allocates a 64 KiB buffer for
 * every read and pushes it through the Readable stream machinery; with `onread` the socket reads
 * into one buffer of its own and calls us with a view of it. On loopback that is about an eighth
 * of the relay's CPU per transaction (bench:proxy). The view is valid only during the call:
 * whatever keeps bytes must copy them, and a write that could not be flushed at once holds the
 * source until it is (`forward`).
 */
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';

/** Per direction and session: 32 KiB of buffers per session, reads of up to 16 KiB. */
const READ_BUFFER_BYTES = 16 * 1024;

/** Called with each chunk read; return false to stop reading until `resume()`. */
export type Sink = (view: Buffer) => boolean;

export function onreadOption(sink: Sink): OnReadOpts {
  return { buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES), callback: (n: number, buf: Uint8Array) => sink((buf as Buffer).subarray(0, n)) };
}

/**
 * Takes over a socket accepted with `pauseOnConnect` (Node's servers have no `onread`): its handle
 * moves to a socket that reads through `sink`. Without the (internal) handle, the plain socket's
 * 'data' events feed the sink instead: slower, same behaviour.
 */
export function adoptAccepted(accepted: Socket, sink: Sink): Socket {
  const holder = accepted as unknown as { _handle?: object | null };
  const handle = holder._handle;
  if (!handle) {
    accepted.on('data', (chunk: Buffer) => {
      if (!sink(chunk)) accepted.pause();
    });
    accepted.resume();
    return accepted;
  }
  holder._handle = null;
  // Releases the server's count of this connection; the file descriptor lives on in the new socket.
  accepted.destroy();
  // `handle` and `onread` are accepted by the constructor though its typings list neither.
  return new Socket({ handle, onread: onreadOption(sink) } as SocketConstructorOpts);
}

const FLUSHED = Buffer.alloc(0);

/**
 * Writes a view of `src`'s read buffer to `dst`. When the kernel took it all (the usual case) the
 * source reads on; otherwise the rest still points into that buffer, so the source stops reading
 * until the write is flushed. Returns whether the source may read on.
 */
export function forward(src: Socket, dst: Socket, view: Buffer): boolean {
  dst.write(view);
  if (dst.writableLength === 0) return true;
  dst.write(FLUSHED, () => src.resume());
  return false;
}
