import type { ZodType, ZodTypeDef } from 'zod';

export class FetchError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'FetchError';
  }
}

/** GETs a JSON document with a bearer token and validates it against its contract. */
export async function fetchJson<T>(url: string, token: string, schema: ZodType<T, ZodTypeDef, unknown>, timeoutMs = 5000): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new FetchError(`GET ${url} failed: ${(error as Error).message}`);
  }
  if (!response.ok) {
    const body = await response.text().catch(() => '');
    throw new FetchError(`GET ${url} answered ${response.status}: ${body.slice(0, 300)}`, response.status);
  }
  const parsed = schema.safeParse(await response.json());
  if (!parsed.success) throw new FetchError(`GET ${url} returned a document that breaks its contract: ${parsed.error.message}`);
  return parsed.data;
}
