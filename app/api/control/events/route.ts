import type { HubEvent } from '@/lib/server/kill-hub';
import { apiRoute, jsonError } from '@/lib/server/http';
import { HUB_STARTING, killHub, traceIdOf, TRACE_ID_ERROR } from '@/lib/server/kill-params';

export const dynamic = 'force-dynamic';

// A comment line now and then: proxies and clients that close quiet connections keep this one, and a client
// learns that a dead connection is dead.
const HEARTBEAT_MS = 15_000;

/**
 * Server-Sent Events: `kill` and `revive` events (data: `{ type, kill }`) as they happen in any Canopy process
 * on the same storage, optionally of one trace (`?traceId=`). One connection per agent process is enough.
 * A client reconnecting with `Last-Event-ID` gets the events it missed from this process; a stream of one
 * trace starts with that trace's kills in force, so a reconnect elsewhere misses nothing either.
 */
export const GET = apiRoute(async (request: Request) => {
  const params = new URL(request.url).searchParams;
  const rawTrace = params.get('traceId');
  const traceId = rawTrace ? traceIdOf(rawTrace) : null;
  if (rawTrace && !traceId) return jsonError(400, TRACE_ID_ERROR);
  const hub = killHub();
  if (!hub) return HUB_STARTING();
  const lastEventId = request.headers.get('last-event-id');
  const encoder = new TextEncoder();
  const matches = (e: HubEvent) => !traceId || e.event.kill.traceId === traceId;
  const frame = (e: HubEvent) => `id: ${e.id}\nevent: ${e.event.type}\ndata: ${JSON.stringify(e.event)}\n\n`;
  let end = () => {};

  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      const send = (text: string) => {
        if (closed) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          end(); // the client is gone
        }
      };
      // The first bytes go out at once: the client knows it is subscribed before any kill happens.
      send('retry: 1000\n: subscribed\n\n');
      const missed = lastEventId ? hub.eventsAfter(lastEventId) : null;
      if (missed) for (const e of missed) if (matches(e)) send(frame(e));
      if (!missed && traceId) for (const kill of hub.killsOf(traceId)) send(`event: kill\ndata: ${JSON.stringify({ type: 'kill', kill })}\n\n`);
      const unsubscribe = hub.subscribe((e) => matches(e) && send(frame(e)), () => end());
      const heartbeat = setInterval(() => send(': heartbeat\n\n'), HEARTBEAT_MS);
      heartbeat.unref();
      end = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        unsubscribe();
        request.signal.removeEventListener('abort', end);
        try {
          controller.close();
        } catch {
          // already closed or errored
        }
      };
      request.signal.addEventListener('abort', end);
    },
    cancel() {
      end();
    },
  });
  return new Response(stream, {
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' },
  });
});
