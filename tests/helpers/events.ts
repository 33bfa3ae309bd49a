// A Server-Sent Events client for the tests: the raw response (headers, encoding) and its events as they arrive.

export interface SseEvent {
  id: string | null;
  event: string;
  data: string;
}

export interface EventStream {
  status: number;
  headers: Headers;
  events: SseEvent[];
  /** Comment lines received (heartbeats, the first "subscribed"). */
  comments: string[];
  /** Resolves with the first event (already received or still to come) that matches. */
  waitFor(match: (e: SseEvent) => boolean, timeoutMs?: number, what?: string): Promise<SseEvent>;
  close(): void;
}

export async function openEvents(url: string, headers: Record<string, string> = {}): Promise<EventStream> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  const stream: EventStream = {
    status: res.status,
    headers: res.headers,
    events,
    comments,
    waitFor(match, timeoutMs = 5_000, what = 'an event') {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (!found) return false;
          clearTimeout(timer);
          waiters.delete(check as () => void);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check as () => void);
          reject(new Error(`No ${what} on the event stream within ${timeoutMs} ms; got ${JSON.stringify(events)}`));
        }, timeoutMs);
        if (!check()) waiters.add(check as () => void);
      });
    },
    close: () => abort.abort(),
  };
  if (!res.body || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) return stream;
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const e: SseEvent = { id: null, event: 'message', data: '' };
          let isEvent = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) (e.id = line.slice(4)), (isEvent = true);
            else if (line.startsWith('event: ')) (e.event = line.slice(7)), (isEvent = true);
            else if (line.startsWith('data: ')) (e.data += line.slice(6)), (isEvent = true);
          }
          if (isEvent) events.push(e);
          for (const w of [...waiters]) w();
        }
      }
    } catch {
      // closed by the test or by the server
    }
  })();
  return stream;
}
