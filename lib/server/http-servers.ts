import http from 'node:http';
import type { Socket } from 'node:net';
import next from 'next';
import compression from 'compression';
import { isLoopback, type CanopyConfig } from './config';
import { isAuthorised } from './auth';
import { needsKey, requestPath } from './request-path';
import { ClientConnections } from './client-connections';
import { serveControl } from './control-api';
import { StartError, type Log } from './services';
import type { Metrics } from './metrics';
import type { Ingest } from '../../ingest/service';

export interface HttpServers {
  port: number;
  otlpPort: number;
  /** Stops accepting connections and closes the idle ones; requests under way still get their answer. */
  stop(): void;
}

const KEY_MESSAGE = 'Missing or invalid API key: send "Authorization: Bearer <key>"';

/**
 * UI, JSON API, `/metrics` and OTLP on PORT; OTLP alone on CANOPY_OTLP_PORT. Every request's target is
 * checked once, and the key check and the routing both use that one canonical path.
 */
export async function startHttpServers(deps: { config: CanopyConfig; ingest: Ingest; metrics: Metrics; log: Log; dir: string; dev: boolean }): Promise<HttpServers> {
  const { config, ingest, metrics, log } = deps;
  const app = next({ dev: deps.dev, dir: deps.dir, hostname: config.host, port: config.port });
  await app.prepare();
  const handleNext = app.getRequestHandler();
  // gzip at level 1 rather than Next's built-in default: for a 10,000-span trace (~9 MiB of JSON)
  // compression was the largest single cost of the request; level 1 is several times cheaper for a body
  // only slightly larger. Clients on this machine (the default: Canopy binds 127.0.0.1) get no
  // compression at all: it saves no time on loopback, only spends CPU (docs/BENCHMARKS.md). Server-sent events
  // are never compressed: gzip holds each event back until its buffer fills, and a kill must reach agents now.
  const compress = compression({
    level: 1,
    filter: (req, res) => !isLoopback(req.socket.remoteAddress ?? '') && !String(res.getHeader('content-type') ?? '').startsWith('text/event-stream') && compression.filter(req, res),
  });
  const serveNext = (req: http.IncomingMessage, res: http.ServerResponse) =>
    new Promise<void>((resolve, reject) => compress(req as never, res as never, () => handleNext(req, res).then(resolve, reject)));

  const answer = (res: http.ServerResponse, status: number, error: string, headers: Record<string, string> = {}) => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify({ error }));
  };

  const connections = new ClientConnections(config.maxConnectionsPerClient);
  const route = (otlpOnly: boolean) => async (req: http.IncomingMessage, res: http.ServerResponse) => {
    // Authorised and routed on the same canonical path: a target that is not canonical never reaches either.
    const target = requestPath(req.url);
    const pathname = target.ok ? target.path : '';
    try {
      if (connections.isOverLimit(req.socket)) {
        metrics.connectionsRefused.inc();
        req.resume();
        return answer(res, 429, `Too many connections from this address (limit ${connections.limit}); retry later`, { 'retry-after': '5', connection: 'close' });
      }
      if (!target.ok) return req.resume(), answer(res, 400, target.reason);
      const authorised = !needsKey(req.method, pathname) || isAuthorised(req.headers.authorization, config.apiKeys);
      if (pathname === '/v1/traces') {
        if (!authorised) return ingest.refuse(req, res, 401, KEY_MESSAGE, { 'www-authenticate': 'Bearer' });
        return await ingest.handle(req, res);
      }
      if (otlpOnly) return req.resume(), answer(res, 404, 'This port serves OTLP only: POST /v1/traces');
      if (!authorised) return req.resume(), answer(res, 401, KEY_MESSAGE, { 'www-authenticate': 'Bearer' });
      // The control API, on every running agent's hot path, is answered before Next (see control-api.ts).
      if (serveControl(req, res, pathname, target.query.slice(1))) return;
      if (pathname === '/metrics') {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        return void res.end(await metrics.registry.metrics());
      }
      await serveNext(req, res);
    } catch (err) {
      log({ event: 'request_failed', path: pathname, error: err instanceof Error ? err.stack : String(err) });
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'Internal error' }));
      } else res.destroy();
    }
  };

  // A request must arrive whole in time (headers, then body), checked every second: a client that stalls
  // mid-body is cut off after CANOPY_BODY_TIMEOUT_MS rather than Node's default of 5 minutes.
  const serverOptions: http.ServerOptions = {
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.bodyTimeoutMs,
    connectionsCheckingInterval: 1_000,
  };
  const servers = [http.createServer(serverOptions, route(false)), http.createServer(serverOptions, route(true))];
  for (const s of servers) {
    // Exporters keep connections alive between batches; keep them a little longer than their own idle timeout.
    s.keepAliveTimeout = 65_000;
    connections.track(s);
    // Requests Node's parser refuses (a backslash in the path, oversized headers, a body that timed out)
    // get a JSON error like every other refusal, instead of a bare status line.
    s.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
      const [status, text] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout'] : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : [400, 'Bad Request'];
      const body = JSON.stringify({ error: status === 408 ? 'The request did not arrive in time' : `The request could not be parsed: ${err.message}` });
      socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    });
  }
  const stop = () => {
    for (const s of servers) {
      s.close();
      s.closeIdleConnections();
    }
  };
  const listen = (server: http.Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, config.host, () => resolve((server.address() as { port: number }).port));
    });
  try {
    return { port: await listen(servers[0], config.port), otlpPort: await listen(servers[1], config.otlpPort), stop };
  } catch (err) {
    stop();
    const e = err as NodeJS.ErrnoException & { port?: number };
    throw new StartError(e.code === 'EADDRINUSE' ? `Port ${e.port ?? ''} on ${config.host} is already in use: set PORT / CANOPY_OTLP_PORT` : e.message);
  }
}
