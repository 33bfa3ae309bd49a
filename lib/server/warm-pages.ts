import type { Log } from './services';

// The server renders a page's client components from chunks it loads on their first use, not at start: the first
// trace page after a start cost ~0.6 s more CPU than the next ones (module loading, measured with the 10,000-span
// tree: 1,000 ms of CPU against 420), paid by whoever opened it first — typically someone following an alert's
// link. One render of the trace page (for a trace id that cannot exist) right after start loads them instead.

const NO_TRACE = '0'.repeat(32);

/** Renders the pages whose code loads on first use, once, in the background; never fails the server. */
export function warmPages(baseUrl: string, log: Log): void {
  const started = performance.now();
  // Pages are served without a key (lib/server/request-path.ts), so this needs none.
  fetch(`${baseUrl}/traces/${NO_TRACE}`)
    .then(async (res) => {
      await res.arrayBuffer();
      log({ event: 'pages_warmed', status: res.status, ms: Math.round(performance.now() - started) });
    })
    .catch((err) => log({ event: 'pages_warm_failed', error: err instanceof Error ? err.message : String(err) }));
}
