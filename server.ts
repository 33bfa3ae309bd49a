import './lib/server/server-only-process';
import './lib/server/v8-tuning';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, ConfigError, type CanopyConfig } from './lib/server/config';
import { openStorage, StorageStartError, type Storage } from './lib/server/storage/storage';
import { migrate } from './lib/server/storage/migrations';
import { getRuntime, setRuntime } from './lib/server/runtime';
import { createMetrics } from './lib/server/metrics';
import { ReadGate } from './lib/server/read-gate';
import { ensureBuild } from './lib/server/build';
import { startHttpServers } from './lib/server/http-servers';
import { warmPages } from './lib/server/warm-pages';
import { service, startServices, stopOnSignals, StartError } from './lib/server/services';
import { createPreparePool } from './ingest/prepare-pool';
import { startIngest } from './ingest/service';
import { startGrpcServer } from './ingest/grpc/server';
import { INGEST_NICE, keepEngineThreadsLowered } from './lib/server/thread-priority';

// One process: UI + JSON API + OTLP on PORT, OTLP also on CANOPY_OTLP_PORT, OTLP/gRPC on CANOPY_OTLP_GRPC_PORT,
// one embedded data dir.

const ROOT = import.meta.dirname;
const SHUTDOWN_DEADLINE_MS = 10_000;
/**
 * How often this process's detector reads the rule settings when its own API did not save them: another process on
 * the same ClickHouse server may have. The embedded store has one process (the data dir's lock), whose API says
 * when it saved them: never polled (a read every 5 s was ~15 ms of the engine's time, which ingest waits for).
 */
const SETTINGS_POLL_MS = 5_000;
const log = (event: Record<string, unknown>) => process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...event }) + '\n');

async function main() {
  const config = loadConfig();
  const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;
  const dev = process.argv.includes('--dev');
  const metrics = createMetrics();

  // Started in this order and stopped in the reverse one, so each service can use those above it. The pool
  // comes first: a bad price file stops Canopy there, with the file's problem in the message.
  const pool = service('prepare pool', () => startPreparePool(config), (p) => p.close());
  const uiBuild = service('ui build', () => (dev ? undefined : buildUi()));
  const storage = service('storage', () => startStorage(config, version), (s) => s.close());
  const ingest = service('ingest', () => startIngest({ config, storage: storage.value, pool: pool.value, metrics, log }), (i) => i.stop());
  // Kills in force, in memory for the control API (imported here: it reads storage through lib/server/queries).
  const kills = service('kill hub', async () => (await import('./lib/server/kill-hub')).startKillHub({ storage: storage.value, retentionDays: config.retentionDays, log }), (k) => k.stop());
  const budgets = service('budget book', async () => (await import('./lib/server/budget-book')).startBudgetBook({ storage: storage.value, retentionDays: config.retentionDays, defaultUsd: config.treeBudgetUsd, log }), (b) => b.stop());
  const http = service('http', () => startHttpServers({ config, ingest: ingest.value, metrics, log, dir: ROOT, dev }), (h) => h.stop());
  const grpc = service('otlp grpc', () => startGrpcServer({ config, ingest: ingest.value, metrics, log }), (g) => g.stop());
  // The detector judges what ingest stored; with CANOPY_DETECTOR=off another process runs it (npm run detector).
  const detector = service('detector', async () => {
    if (!config.detector) return undefined;
    // Imported here: it reads storage through lib/server/queries (server-only; see server-only-process.ts).
    const { startDetector } = await import('./detector/run');
    // This process's ingest workers judge the trees whose exports they prepared, once the root comes
    // (detector/stream-judge.ts); the detector uses such a judgement when storage holds no other span of the tree.
    // The API tells it when the rule settings are saved; otherwise it reads them every few seconds. On the
    // embedded store this process is the only writer: ingest tells it which trees it stored, and the
    // activity index is read only to catch up (detector/stored-feed.ts).
    const running = await startDetector({
      config,
      storage: storage.value,
      metrics,
      log,
      publicUrl: publicUrl(config, http.value.port),
      budgets: budgets.value,
      killer: kills.value,
      stream: pool.value,
      settingsPollMs: storage.value.backend === 'embedded' ? Infinity : SETTINGS_POLL_MS,
      stored: storage.value.backend === 'embedded' ? ingest.value.stored : undefined,
    });
    getRuntime().ruleSettingsSaved = () => running.detector.ruleSettingsSaved();
    return running;
  }, (d) => d?.stop());
  const running = await startServices([pool, uiBuild, storage, ingest, kills, budgets, http, grpc, detector], log);
  // SIGTERM/SIGINT: stop accepting exports at once (not only once the services stopped before ingest have), answer
  // the exports in flight, flush the queue, close storage, exit.
  stopOnSignals(running, log, SHUTDOWN_DEADLINE_MS, () => ingest.value.drain());

  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const { backend } = storage.value;
  const url = `http://${host}:${http.value.port}`;
  log({ event: 'listening', url, otlpUrl: `http://${host}:${http.value.otlpPort}`, otlpGrpcUrl: `http://${host}:${grpc.value.port}`, storage: backend, dataDir: backend === 'embedded' ? config.dataDir : undefined, version });
  if (!dev) warmPages(url, log);
}

/** Where the UI is, for links in alerts: CANOPY_PUBLIC_URL, else the bound address. */
function publicUrl(config: CanopyConfig, port: number): string {
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host}:${port}`;
}

function startPreparePool(config: CanopyConfig) {
  const { ingestThreads: threads, pricesFile, retentionDays, maxBodyBytes, maxSpansPerExport: maxSpans } = config;
  return createPreparePool({ threads, pricesFile, retentionDays, maxBodyBytes, maxSpans, log }).catch((err: Error) => {
    throw new StartError(err.message);
  });
}

/** `npm start` builds the UI when it has no build or its sources changed (under a lock: see build.ts). */
function buildUi() {
  try {
    ensureBuild(ROOT, log);
  } catch (err) {
    throw new StartError((err as Error).message);
  }
}

/** Opens storage, applies the migrations and checks it takes writes; then the API routes may use it. */
async function startStorage(config: CanopyConfig, version: string): Promise<Storage> {
  const storage = await openStorage(config);
  try {
    // The first statements Canopy runs: a server that is unreachable or refuses the credentials fails here.
    const applied = await migrate(storage.client, path.join(ROOT, 'migrations')).catch((err: Error) => {
      const where = config.clickhouse ? `ClickHouse at ${config.clickhouse.url}` : `the embedded ClickHouse at ${config.dataDir}`;
      throw new StartError(`Could not set up storage in ${where}: ${err.message}`);
    });
    if (applied.length) log({ event: 'migrated', applied });
    // A store that opens and reads but cannot write would otherwise start, and answer every export 503.
    const writable = await storage.writeHealth({ fresh: true });
    if (!writable.ok) throw new StartError(writable.reason);
  } catch (err) {
    await storage.close().catch(() => undefined);
    throw err;
  }
  setRuntime({ config, storage, version, reads: new ReadGate(config.maxReads, config.maxQueuedReads) });
  exitOnAbort();
  // The embedded engine's inserts and merges yield to the main thread (lib/server/thread-priority.ts).
  if (storage.backend === 'embedded') keepEngineThreadsLowered(INGEST_NICE);
  return storage;
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

// A start that fails for a reason the user can fix says so in one sentence; anything else is a bug: its stack.
const forTheUser = (err: unknown) => err instanceof StartError || err instanceof StorageStartError || err instanceof ConfigError;
main().catch((err) => fatal(forTheUser(err) ? (err as Error).message : err instanceof Error ? (err.stack ?? err.message) : String(err)));
