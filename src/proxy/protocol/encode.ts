/**
 * Messages the proxy itself sends to clients: errors, and the small result sets of its own
 * commands (SHOW POOL_NODES). Pure.
 */
import { BackendCode, TxStatus } from './codes.js';

function message(type: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

const cstr = (s: string) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);

/** ErrorResponse with severity, SQLSTATE and message (and FATAL when the connection will close). */
export function errorResponse(sqlstate: string, text: string, severity: 'ERROR' | 'FATAL' = 'FATAL'): Buffer {
  const fields = Buffer.concat([
    Buffer.from('S'),
    cstr(severity),
    Buffer.from('V'),
    cstr(severity),
    Buffer.from('C'),
    cstr(sqlstate),
    Buffer.from('M'),
    cstr(text),
    Buffer.from([0]),
  ]);
  return message(BackendCode.ErrorResponse, fields);
}

export function readyForQuery(status: TxStatus = TxStatus.Idle): Buffer {
  return message(BackendCode.ReadyForQuery, Buffer.from([status]));
}

/** A text-format result set: RowDescription, DataRows, CommandComplete (SELECT n). */
export function resultSet(columns: readonly string[], rows: readonly (readonly (string | null)[])[]): Buffer {
  const count = Buffer.alloc(2);
  count.writeInt16BE(columns.length);
  const desc = [count];
  for (const c of columns) {
    const meta = Buffer.alloc(18);
    meta.writeInt32BE(0, 0); // table oid
    meta.writeInt16BE(0, 4); // column number
    meta.writeInt32BE(25, 6); // type oid: text
    meta.writeInt16BE(-1, 10); // type size
    meta.writeInt32BE(-1, 12); // type modifier
    meta.writeInt16BE(0, 16); // text format
    desc.push(cstr(c), meta);
  }
  const parts = [message(BackendCode.RowDescription, Buffer.concat(desc))];
  for (const row of rows) {
    const width = Buffer.alloc(2);
    width.writeInt16BE(row.length);
    const cells = [width];
    for (const v of row) {
      const len = Buffer.alloc(4);
      if (v === null) len.writeInt32BE(-1);
      else {
        const data = Buffer.from(v, 'utf8');
        len.writeInt32BE(data.length);
        cells.push(len, data);
        continue;
      }
      cells.push(len);
    }
    parts.push(message(BackendCode.DataRow, Buffer.concat(cells)));
  }
  parts.push(message(BackendCode.CommandComplete, cstr(`SELECT ${rows.length}`)));
  return Buffer.concat(parts);
}
