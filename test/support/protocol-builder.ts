/**
 * Golden protocol frames for codec tests, built by hand from the PostgreSQL message formats:
 * independent of src/proxy/protocol/encode.ts, so a bug there cannot hide in both.
 */
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const cstr = (s: string) => Buffer.from(`${s}\0`, 'utf8');

export function startupPacket(params: Record<string, string>): Buffer {
  const body = Buffer.concat([int32(196608), ...Object.entries(params).flatMap(([k, v]) => [cstr(k), cstr(v)]), Buffer.from([0])]);
  return Buffer.concat([int32(4 + body.length), body]);
}

export const sslRequest = () => Buffer.concat([int32(8), int32(80877103)]);
export const gssencRequest = () => Buffer.concat([int32(8), int32(80877104)]);
export const cancelRequest = (pid: number, secret: number) => Buffer.concat([int32(16), int32(80877102), int32(pid), int32(secret)]);

export function typed(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(type, 'latin1'), int32(4 + body.length), body]);
}

export const query = (sql: string) => typed('Q', cstr(sql));
export const sync = () => typed('S', Buffer.alloc(0));
export const terminate = () => typed('X', Buffer.alloc(0));
export const readyForQuery = (status: 'I' | 'T' | 'E') => typed('Z', Buffer.from(status));

/** The fields of an ErrorResponse or NoticeResponse body, by their one-letter codes: a test-side reader. */
export function errorFields(body: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  let off = 0;
  while (off < body.length && body[off] !== 0) {
    const code = String.fromCharCode(body[off] ?? 0);
    const end = body.indexOf(0, off + 1);
    if (end < 0) break;
    fields.set(code, body.toString('utf8', off + 1, end));
    off = end + 1;
  }
  return fields;
}
