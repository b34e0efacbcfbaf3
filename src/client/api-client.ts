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

/** A member's GET /status, validated; null when its agent does not answer within the deadline or answers something else. */
export async function fetchNodeReport(apiUrl: string, timeoutMs: number): Promise<NodeReport | null> {
  try {
    const res = await fetch(`${apiUrl}/status`, { signal: deadlineSignal(timeoutMs) });
    return res.ok ? parseNodeReport(await res.json()) : null;
  } catch {
    return null;
  }
}
