/** One Server-Sent Event as received. */
export interface ReceivedEvent {
  id?: string;
  event: string;
  data: string;
}

export interface EventStream {
  status: number;
  contentType: string | null;
  events: ReceivedEvent[];
  /** Resolves with the first event (from the start of the stream) that matches, or rejects after timeoutMs. */
  waitFor(match: (event: ReceivedEvent) => boolean, timeoutMs: number): Promise<ReceivedEvent>;
  close(): void;
}

/**
 * Opens a Server-Sent Events stream with fetch and collects its events: a
 * small client for the follow endpoint (tests, scripts).
 */
export async function openEventStream(url: string, headers: Record<string, string> = {}): Promise<EventStream> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const events: ReceivedEvent[] = [];
  const listeners = new Set<() => void>();
  if (response.body) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event: ReceivedEvent = { event: 'message', data: '' };
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) continue;
              const colon = line.indexOf(':');
              const field = colon < 0 ? line : line.slice(0, colon);
              const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
              if (field === 'data') data.push(value);
              else if (field === 'id') event.id = value;
              else if (field === 'event') event.event = value;
            }
            if (data.length === 0) continue;
            event.data = data.join('\n');
            events.push(event);
            for (const listener of listeners) listener();
          }
        }
      } catch {
        // Closed by us or by the server.
      }
    })();
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    events,
    waitFor(match, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (!found) return false;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no matching event within ${timeoutMs} ms (got ${events.length})`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    close: () => controller.abort(),
  };
}
