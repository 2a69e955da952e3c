import type { Backend } from './routes-table.js';

export interface BackendTargets {
  configServiceUrl: string;
  certServiceUrl: string;
  logServiceUrl: string;
  /** config-service and cert-service take the admin token; it never leaves the console. */
  adminToken: string;
  /** log-service reads with the operator token when there is one, else the admin token. */
  logToken: string;
}

export interface BackendCall {
  method?: string;
  /** Path and query string. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** Calls the services with the console's own tokens. */
export class Backends {
  constructor(private readonly targets: BackendTargets) {}

  url(backend: Backend): string {
    return backend === 'config' ? this.targets.configServiceUrl : backend === 'cert' ? this.targets.certServiceUrl : this.targets.logServiceUrl;
  }

  call(backend: Backend, call: BackendCall): Promise<Response> {
    const token = backend === 'logs' ? this.targets.logToken : this.targets.adminToken;
    const signals = [call.signal, call.timeoutMs === 0 ? undefined : AbortSignal.timeout(call.timeoutMs ?? 15_000)].filter((s): s is AbortSignal => s !== undefined);
    return fetch(`${this.url(backend)}${call.path}`, {
      method: call.method ?? 'GET',
      headers: { authorization: `Bearer ${token}`, ...call.headers },
      ...(call.body !== undefined ? { body: call.body } : {}),
      ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
    });
  }

  /** GET a JSON document; an unreachable service or a non-2xx answer becomes `{ error }` so one part of a page can fail alone. */
  async json<T>(backend: Backend, path: string): Promise<{ status: number; body: T } | { error: string }> {
    try {
      const response = await this.call(backend, { path, headers: { accept: 'application/json' }, timeoutMs: 5000 });
      const body = (await response.json().catch(() => null)) as T | { error?: { message?: string } } | null;
      if (!response.ok) {
        const message = (body as { error?: { message?: string } } | null)?.error?.message;
        return { error: `${backend} answered ${response.status}${message ? `: ${message}` : ''}` };
      }
      return { status: response.status, body: body as T };
    } catch (error) {
      return { error: `${backend} cannot be reached: ${(error as Error).message}` };
    }
  }
}
