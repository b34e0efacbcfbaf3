/**
 * The one client of the agents' REST API: the CLI's (tries each endpoint in turn until one
 * answers, so a command works from any member while others are down) and the agents' own reads
 * of a peer's GET /status (one member, one deadline, the body validated).
 */
import { httpCall, type HttpTls } from './http.js';
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

/** The CLI's answers are small JSON documents; a cluster report of many members is still far below this. */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

export class ApiClient {
  constructor(
    private readonly endpoints: readonly string[],
    private readonly token: string | undefined,
    private readonly timeoutMs = 5000,
    /** For https endpoints (api.tls): the CA of their certificates, and a client certificate when they ask. */
    private readonly tls: HttpTls | null = null,
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
        const res = await httpCall(`${endpoint}${path}`, {
          method,
          timeoutMs: this.timeoutMs,
          maxBytes: MAX_ANSWER_BYTES,
          tls: this.tls,
          headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
        // 503 from /cluster means that node cannot read the store: another may.
        if (res.status === 503 && method === 'GET') {
          errors.push(`${endpoint}: ${res.text}`);
          continue;
        }
        return { status: res.status, body: JSON.parse(res.text) as T, endpoint };
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
export async function fetchNodeReport(reg: { readonly host: string; readonly api_url: string }, timeoutMs: number, tls: HttpTls | null = null): Promise<NodeReport | null> {
  const origin = memberApiUrl(reg);
  if (!origin) return null;
  try {
    const res = await httpCall(`${origin}/status`, { timeoutMs, maxBytes: MAX_REPORT_BYTES, tls });
    return res.status === 200 ? parseNodeReport(JSON.parse(res.text)) : null;
  } catch {
    return null;
  }
}
