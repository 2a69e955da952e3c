/** Calls the console's own API: the session cookie goes by itself, changes carry the CSRF token. */
export interface ApiError {
  code: string;
  message: string;
  details?: unknown;
}

export interface ApiAnswer<T> {
  ok: boolean;
  status: number;
  body: T;
  error?: ApiError;
  etag?: string | null;
}

let csrfToken = '';

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

let onSignedOut: () => void = () => undefined;
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

export async function api<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer<T>> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: {
        accept: 'application/json',
        ...(method !== 'GET' ? { 'x-csrf-token': csrfToken } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (error) {
    return { ok: false, status: 0, body: undefined as T, error: { code: 'NETWORK', message: `the console cannot be reached (${(error as Error).message})` } };
  }
  const type = response.headers.get('content-type') ?? '';
  const parsed = (type.includes('json') ? await response.json().catch(() => null) : await response.text()) as T & { error?: ApiError };
  if (response.status === 401 && path !== '/api/session') onSignedOut();
  return {
    ok: response.ok,
    status: response.status,
    body: parsed,
    etag: response.headers.get('etag'),
    ...(response.ok ? {} : { error: (parsed as { error?: ApiError })?.error ?? { code: String(response.status), message: `answered ${response.status}` } }),
  };
}

/** An error message in words, with the service's details when it gave a list. */
export function errorText(error: ApiError | undefined): string {
  if (!error) return '';
  return error.message;
}
