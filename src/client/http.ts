/**
 * One HTTP(S) request to a pgwarden API, with what Node's fetch cannot take: a CA of our own and
 * a client certificate (api.tls), and a bound on the answer's size, since the other end may be a
 * host a hostile store named. Redirects are not followed.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** TLS to an API: the CA that signed its certificate, and ours when it asks for one. */
export interface HttpTls {
  readonly ca?: Buffer | undefined;
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
}

export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
}

export function httpCall(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs: number; tls?: HttpTls | null; maxBytes: number },
): Promise<HttpAnswer> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const tls = target.protocol === 'https:' && o.tls ? { ca: o.tls.ca, cert: o.tls.cert, key: o.tls.key } : {};
  return new Promise((resolve, reject) => {
    const req = send(target, { method: o.method ?? 'GET', headers: o.headers, signal: AbortSignal.timeout(o.timeoutMs), ...tls }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > o.maxBytes) {
          res.destroy();
          reject(new Error(`${target.origin} answered more than ${o.maxBytes} bytes`));
        } else chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(o.body);
  });
}
