export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  signal?: AbortSignal;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Exponential delay with full jitter, so replicas that failed together do not retry together. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(initialMs / 2 + random() * (ceiling - initialMs / 2));
}

/** Calls `task` until it succeeds or the signal aborts. */
export async function retryWithBackoff<T>(task: () => Promise<T>, options: BackoffOptions = {}): Promise<T> {
  const initialMs = options.initialMs ?? 200;
  const maxMs = options.maxMs ?? 10_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await task();
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      const delay = backoffDelay(attempt, initialMs, maxMs);
      options.onRetry?.(error, attempt + 1, delay);
      await sleep(delay, options.signal);
    }
  }
}

/** Polls `check` until it holds; rejects naming `what` after `timeoutMs`. For start-up checks and tests. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition', pollMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(pollMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}
