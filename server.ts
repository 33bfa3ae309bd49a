import http from 'node:http';
import type { Socket } from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import next from 'next';
import compression from 'compression';
import { loadConfig, ConfigError, isLoopback, type CanopyConfig } from './lib/server/config';
import { openStorage, StorageStartError } from './lib/server/storage/storage';
import { migrate } from './lib/server/storage/migrations';
import { setRuntime } from './lib/server/runtime';
import { createMetrics } from './lib/server/metrics';
import { isAuthorised } from './lib/server/auth';
import { needsKey, requestPath } from './lib/server/request-path';
import { ReadGate } from './lib/server/read-gate';
import { ClientConnections } from './lib/server/client-connections';
import { ensureBuild } from './lib/server/build';
import { BatchWriter } from './ingest/batch-writer';
import { createTraceReceiver } from './ingest/receiver';
import { createPreparePool } from './ingest/prepare-pool';
import { ResourceRegistry } from './ingest/resource-registry';
import { SPAN_ROWS_FORMAT } from './ingest/serialise';

// One process: UI + JSON API + OTLP on PORT, OTLP also on CANOPY_OTLP_PORT, one embedded data dir.

const ROOT = import.meta.dirname;
const SHUTDOWN_DEADLINE_MS = 10_000;
const log = (event: Record<string, unknown>) => process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...event }) + '\n');

async function main() {
  let config: CanopyConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fatal(err.message);
    throw err;
  }
  const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;
  // Started before storage: a bad price file stops Canopy here, with the file's problem in the message.
  const preparePool = await createPreparePool({ threads: config.ingestThreads, pricesFile: config.pricesFile, retentionDays: config.retentionDays, maxBodyBytes: config.maxBodyBytes, log }).catch((err: Error) =>
    fatal(err.message),
  );

  const dev = process.argv.includes('--dev');
  if (!dev) ensureBuild(ROOT, log);

  let storage;
  try {
    storage = await openStorage(config);
  } catch (err) {
    if (err instanceof StorageStartError) fatal(err.message);
    throw err;
  }
  // The first statements Canopy runs: a server that is unreachable or refuses the credentials fails here.
  const applied = await migrate(storage.client, path.join(ROOT, 'migrations')).catch((err: Error) =>
    fatal(`Could not set up storage in ${config.clickhouse ? `ClickHouse at ${config.clickhouse.url}` : `the embedded ClickHouse at ${config.dataDir}`}: ${err.message}`),
  );
  if (applied.length) log({ event: 'migrated', applied });
  // A store that opens and reads but cannot write would otherwise start, and answer every export 503.
  const writable = await storage.writeHealth({ fresh: true });
  if (!writable.ok) fatal(writable.reason);
  setRuntime({ config, storage, version, reads: new ReadGate(config.maxReads, config.maxQueuedReads) });
  exitOnAbort();

  const metrics = createMetrics();
  const writer = new BatchWriter((payload) => storage.insertRaw('spans', payload, SPAN_ROWS_FORMAT), {
    maxQueueRows: config.queueMaxRows,
    maxQueueBytes: config.queueMaxBytes,
    maxBatchRows: config.batchMaxRows,
    maxBatchBytes: config.batchMaxBytes,
    minBatchRows: config.batchMinRows,
    maxLingerMs: config.batchLingerMs,
  }, metrics);
  const resources = new ResourceRegistry((payload) => storage.insertRaw('resources', payload));
  const receiver = createTraceReceiver({
    writer, resources, pool: preparePool, metrics, log,
    maxBodyBytes: config.maxBodyBytes, maxDecoding: config.maxDecoding, maxReceivingBytes: config.maxReceivingBytes,
    bodyTimeoutMs: config.bodyTimeoutMs,
  });

  const app = next({ dev, dir: ROOT, hostname: config.host, port: config.port });
  await app.prepare();
  const handleNext = app.getRequestHandler();
  // gzip at level 1 rather than Next's built-in default: for a 10,000-span trace (~9 MiB of JSON)
  // compression was the largest single cost of the request; level 1 is several times cheaper for a body
  // only slightly larger. Clients on this machine (the default: Canopy binds 127.0.0.1) get no
  // compression at all: it saves no time on loopback, only spends CPU (docs/BENCHMARKS.md).
  const compress = compression({
    level: 1,
    filter: (req, res) => !isLoopback(req.socket.remoteAddress ?? '') && compression.filter(req, res),
  });
  const serveNext = (req: http.IncomingMessage, res: http.ServerResponse) =>
    new Promise<void>((resolve, reject) => compress(req as never, res as never, () => handleNext(req, res).then(resolve, reject)));

  let shuttingDown = false;
  let activeExports = 0;
  const exportsIdle: (() => void)[] = [];

  const KEY_MESSAGE = 'Missing or invalid API key: send "Authorization: Bearer <key>"';
  const answer = (res: http.ServerResponse, status: number, error: string, headers: Record<string, string> = {}) => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify({ error }));
  };

  const handleExport = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (shuttingDown) return receiver.refuse(req, res, 503, 'Canopy is shutting down; retry later', { 'retry-after': '5', connection: 'close' });
    activeExports++;
    try {
      await receiver.handle(req, res);
    } finally {
      if (--activeExports === 0) exportsIdle.splice(0).forEach((f) => f());
    }
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
        if (!authorised) return receiver.refuse(req, res, 401, KEY_MESSAGE, { 'www-authenticate': 'Bearer' });
        return await handleExport(req, res);
      }
      if (otlpOnly) return req.resume(), answer(res, 404, 'This port serves OTLP only: POST /v1/traces');
      if (!authorised) return req.resume(), answer(res, 401, KEY_MESSAGE, { 'www-authenticate': 'Bearer' });
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
  const mainServer = http.createServer(serverOptions, route(false));
  const otlpServer = http.createServer(serverOptions, route(true));
  for (const s of [mainServer, otlpServer]) {
    // Exporters keep connections alive between batches; keep them a little longer than their own idle timeout.
    s.keepAliveTimeout = 65_000;
    connections.track(s);
    // Requests Node's parser refuses (a backslash in the path, oversized headers, a body that timed out)
    // get a JSON error like every other refusal, instead of a bare status line.
    s.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      if (!socket.writable || (err as { code?: string }).code === 'ECONNRESET') return void socket.destroy();
      const [status, text] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout'] : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : [400, 'Bad Request'];
      const body = JSON.stringify({ error: status === 408 ? 'The request did not arrive in time' : `The request could not be parsed: ${err.message}` });
      socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    });
  }
  const listen = (server: http.Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, config.host, () => resolve((server.address() as { port: number }).port));
    });
  let port: number, otlpPort: number;
  try {
    port = await listen(mainServer, config.port);
    otlpPort = await listen(otlpServer, config.otlpPort);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    await storage.close();
    return fatal(e.code === 'EADDRINUSE' ? `Port ${(e as { port?: number }).port ?? ''} on ${config.host} is already in use: set PORT / CANOPY_OTLP_PORT` : e.message);
  }
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  log({ event: 'listening', url: `http://${hostForUrl}:${port}`, otlpUrl: `http://${hostForUrl}:${otlpPort}`, storage: storage.backend, dataDir: storage.backend === 'embedded' ? config.dataDir : undefined, version });

  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log({ event: 'shutting_down', signal });
    const deadline = setTimeout(() => {
      log({ event: 'shutdown_timeout' });
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    for (const s of [mainServer, otlpServer]) {
      s.close();
      s.closeIdleConnections();
    }
    // Exports already being read or decoded still get their answer; then everything queued is flushed.
    if (activeExports > 0) await new Promise<void>((resolve) => exportsIdle.push(resolve));
    await preparePool.close();
    await writer.close();
    await storage.close();
    log({ event: 'stopped' });
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/**
 * A fatal error in V8 (out of heap) ends in abort(). The embedded engine installs its own SIGABRT handler,
 * which catches it and sleeps: the process then hangs, answering nothing and ignoring SIGTERM, so no
 * supervisor restarts it. A listener here replaces the engine's handler with Node's, which only records
 * the signal; abort() then finds the signal handled and terminates the process (exit 134), as it should.
 * Installed once storage is open, after the engine has installed its handlers.
 */
function exitOnAbort() {
  // Reached only for a SIGABRT sent from outside (kill -ABRT): it should end the process too.
  process.on('SIGABRT', () => fatal('received SIGABRT'));
}

process.on('unhandledRejection', (err) => log({ event: 'unhandled_rejection', error: err instanceof Error ? err.stack : String(err) }));

function fatal(message: string): never {
  process.stderr.write(`canopy: ${message}\n`);
  process.exit(1);
}

main().catch((err) => fatal(err instanceof Error ? (err.stack ?? err.message) : String(err)));
