/**
 * The one client of the agents' REST API: the CLI's (tries each endpoint in turn until one
 * answers, so a command works from any member while others are down) and the agents' own reads
 * of a peer's GET /status (one member, one deadline, the body validated).
 */
import { deadlineSignal } from '../util/deadline.js';
import { PgwardenError, errorMessage } from '../util/errors.js';
import { parseNodeReport, type NodeReport } from './node-report.js';

export class ApiUnreachableError extends PgwardenError {
  constructor(message: string) {
    super(message, 'api_unreachable', true);
  }
}

export interface ApiResponse<T> {
  readonly status: number;
  readonly body: T;
  readonly endpoint: string;
}

export class ApiClient {
  constructor(
    private readonly endpoints: readonly string[],
    private readonly token: string | undefined,
    private readonly timeoutMs = 5000,
  ) {}

  get<T>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<ApiResponse<T>> {
    return this.request<T>('POST', path, body);
  }

  delete<T>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>('DELETE', path);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
    const errors: string[] = [];
    for (const endpoint of this.endpoints) {
      try {
        const res = await fetch(`${endpoint}${path}`, {
          method,
          signal: deadlineSignal(this.timeoutMs),
          headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
          body: body !== undefined ? JSON.stringify(body) : undefined,
        });
        // 503 from /cluster means that node cannot read the store: another may.
        if (res.status === 503 && method === 'GET') {
          errors.push(`${endpoint}: ${JSON.stringify(await res.json())}`);
          continue;
        }
        return { status: res.status, body: (await res.json()) as T, endpoint };
      } catch (err) {
        errors.push(`${endpoint}: ${errorMessage(err)}`);
      }
    }
    throw new ApiUnreachableError(`no pgwarden API answered ${method} ${path}: ${errors.join('; ')}`);
  }
}

/** A member's GET /status is a few hundred bytes; a peer that sends more is not a pgwarden agent. */
const MAX_REPORT_BYTES = 64 * 1024;

/**
 * Where a member's API may be asked: only at the host it registered for its PostgreSQL. The store
 * is not trusted to name arbitrary URLs, which every agent would then fetch (a server-side
 * request forgery path); null when the registration's api_url points elsewhere.
 */
export function memberApiUrl(reg: { readonly host: string; readonly api_url: string }): string | null {
  try {
    const url = new URL(reg.api_url);
    return url.hostname.replace(/^\[|\]$/g, '') === reg.host.replace(/^\[|\]$/g, '') ? url.origin : null;
  } catch {
    return null;
  }
}

/**
 * A member's GET /status, validated; null when its agent does not answer within the deadline,
 * answers something else or more than 64 KiB, or its api_url is not at its own host.
 */
export async function fetchNodeReport(reg: { readonly host: string; readonly api_url: string }, timeoutMs: number): Promise<NodeReport | null> {
  const origin = memberApiUrl(reg);
  if (!origin) return null;
  try {
    const res = await fetch(`${origin}/status`, { signal: deadlineSignal(timeoutMs), redirect: 'error' });
    if (!res.ok || !res.body) return null;
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += chunk.byteLength;
      if (size > MAX_REPORT_BYTES) return null;
      chunks.push(chunk);
    }
    return parseNodeReport(JSON.parse(Buffer.concat(chunks).toString('utf8')));
  } catch {
    return null;
  }
}
