import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import next from 'next';
import compression from 'compression';
import { loadConfig, ConfigError, isLoopback, type CanopyConfig } from './lib/config';
import { openStorage, StorageLockedError } from './lib/storage/storage';
import { migrate } from './lib/storage/migrations';
import { setRuntime } from './lib/runtime';
import { createMetrics } from './lib/metrics';
import { isAuthorised } from './lib/auth';
import { ensureBuild } from './lib/build';
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
    if (err instanceof StorageLockedError) fatal(err.message);
    throw err;
  }
  // The first statements Canopy runs: a server that is unreachable or refuses the credentials fails here.
  const applied = await migrate(storage.client, path.join(ROOT, 'migrations')).catch((err: Error) =>
    fatal(`Could not set up storage in ${config.clickhouse ? `ClickHouse at ${config.clickhouse.url}` : `the embedded ClickHouse at ${config.dataDir}`}: ${err.message}`),
  );
  if (applied.length) log({ event: 'migrated', applied });
  setRuntime({ config, storage, version });

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
  const receive = createTraceReceiver({ writer, resources, pool: preparePool, metrics, maxBodyBytes: config.maxBodyBytes, maxDecoding: config.maxDecoding, log });

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

  const unauthorised = (res: http.ServerResponse) => {
    res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
    res.end(JSON.stringify({ error: 'Missing or invalid API key: send "Authorization: Bearer <key>"' }));
  };

  const handleExport = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (shuttingDown) {
      req.resume();
      res.writeHead(503, { 'retry-after': '5', 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ code: 14, message: 'Canopy is shutting down; retry later' }));
      return;
    }
    activeExports++;
    try {
      await receive(req, res);
    } finally {
      if (--activeExports === 0) exportsIdle.splice(0).forEach((f) => f());
    }
  };

  const route = (otlpOnly: boolean) => async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const pathname = (req.url ?? '/').split('?')[0];
    try {
      if (pathname === '/v1/traces') {
        if (!isAuthorised(req.headers.authorization, config.apiKeys)) return req.resume(), unauthorised(res);
        return await handleExport(req, res);
      }
      if (otlpOnly) {
        res.writeHead(404, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ error: 'This port serves OTLP only: POST /v1/traces' }));
      }
      if (pathname === '/metrics') {
        // Scrapers send the key as a bearer token too (Prometheus `authorization` config).
        if (!isAuthorised(req.headers.authorization, config.apiKeys)) return unauthorised(res);
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        return void res.end(await metrics.registry.metrics());
      }
      if (pathname.startsWith('/api/') && !isAuthorised(req.headers.authorization, config.apiKeys)) return unauthorised(res);
      await serveNext(req, res);
    } catch (err) {
      log({ event: 'request_failed', path: pathname, error: err instanceof Error ? err.stack : String(err) });
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'Internal error' }));
      } else res.destroy();
    }
  };

  const mainServer = http.createServer(route(false));
  const otlpServer = http.createServer(route(true));
  // Exporters keep connections alive between batches; keep them a little longer than their own idle timeout.
  for (const s of [mainServer, otlpServer]) s.keepAliveTimeout = 65_000;
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

process.on('unhandledRejection', (err) => log({ event: 'unhandled_rejection', error: err instanceof Error ? err.stack : String(err) }));

function fatal(message: string): never {
  process.stderr.write(`canopy: ${message}\n`);
  process.exit(1);
}

main().catch((err) => fatal(err instanceof Error ? (err.stack ?? err.message) : String(err)));
