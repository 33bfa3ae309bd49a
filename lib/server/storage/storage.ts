import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import type { CanopyConfig } from '../config';
import { prepareDataDir, lockHolderAfterRefusal, removeLegacyPidFile, probeWritable, unwritableMessage, DataDirError, DataDirLockedError } from './data-dir-lock';
import { WriteHealthMonitor, type WriteHealth } from './write-health';
import { engineErrorCode } from './insert-errors';

/** Storage cannot be opened for a reason the user can fix: the message says which and how. */
export { DataDirError as StorageStartError };

/**
 * The one handle on ClickHouse. Reads go through the official client on either backend; the bulk write
 * path hands the engine ready-made JSONEachRow bytes (never object rows, which serialise on the event loop).
 */
export interface Storage {
  readonly backend: 'embedded' | 'server';
  readonly client: ClickHouseClient;
  /** Inserts ready-made rows: JSONEachRow, or JSONCompactEachRow in the order of `encoding.columns`. */
  insertRaw(table: string, payload: Buffer, encoding?: RowEncoding): Promise<void>;
  /**
   * Whether storage can take writes: a probe at most every few seconds (`fresh` forces one, as at start),
   * and the outcome of the last insert. Never throws.
   */
  writeHealth(opts?: { fresh?: boolean }): Promise<WriteHealth>;
  close(): Promise<void>;
}

export interface RowEncoding {
  format: 'JSONEachRow' | 'JSONCompactEachRow';
  columns?: readonly string[];
  settings?: Readonly<Record<string, number>>;
}

const JSON_EACH_ROW: RowEncoding = { format: 'JSONEachRow' };
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export async function openStorage(config: CanopyConfig): Promise<Storage> {
  return config.clickhouse ? await openServer(config.clickhouse) : openEmbedded(config.dataDir);
}

function openEmbedded(dataDir: string): Storage {
  prepareDataDir(dataDir);
  let connection: ReturnType<typeof createChdbConnection>;
  try {
    connection = createChdbConnection({ path: dataDir });
  } catch {
    // The engine has printed its own reason to stderr, without a line break: end that line first.
    process.stderr.write('\n');
    const holder = lockHolderAfterRefusal(dataDir);
    if (holder !== null) throw new DataDirLockedError(dataDir, holder);
    throw new DataDirError(
      `The embedded ClickHouse could not open the data directory ${dataDir} (its reason is on the line above): ` +
        `fix that or set CANOPY_DATA_DIR to another directory.`,
    );
  }
  removeLegacyPidFile(dataDir);
  // Canopy logs every failure itself (insert_failed, api 503s); the client's own ERROR lines with stacks
  // would only repeat them in the middle of the JSON log.
  const client = createClient({ connection, log: { level: ClickHouseLogLevel.OFF } } as Parameters<typeof createClient>[0]);
  const health = new WriteHealthMonitor(embeddedProbe(client, dataDir), `the embedded ClickHouse at ${dataDir}`);
  return {
    backend: 'embedded',
    client,
    insertRaw: observed(health, async (table, payload, encoding = JSON_EACH_ROW) => {
      await connection.chdb.rawInsert({ table, values: payload, format: encoding.format, columns: encoding.columns, settings: encoding.settings });
    }),
    writeHealth: (opts) => health.check(opts),
    async close() {
      await client.close();
    },
  };
}

/**
 * Every insert writes a new part into its table's directory, so the probe tries exactly that, in the data
 * directory and in each table's own directory (which a partial chmod or a mount could make differ), at the
 * file-system level: sub-millisecond, and never queued behind an insert on the engine.
 */
function embeddedProbe(client: ClickHouseClient, dataDir: string): () => Promise<WriteHealth> {
  // Asked once: tables change only with migrations, which run before the first probe (the start check).
  let tableDirs: string[] | undefined;
  return async () => {
    if (!tableDirs) {
      const result = await client.query({
        query: 'SELECT DISTINCT arrayJoin(data_paths) AS dir FROM system.tables WHERE database = currentDatabase()',
        format: 'JSONEachRow',
      });
      tableDirs = (await result.json<{ dir: string }>()).map((r) => r.dir);
    }
    for (const dir of [dataDir, ...tableDirs]) {
      const failure = await probeWritable(dir);
      if (failure) return { ok: false, reason: unwritableMessage(dataDir, `${dir}: ${failure}`) };
    }
    return { ok: true };
  };
}

/** Reports each insert's outcome to the health monitor. */
function observed(health: WriteHealthMonitor, insert: Storage['insertRaw']): Storage['insertRaw'] {
  return async (table, payload, encoding) => {
    try {
      await insert(table, payload, encoding);
    } catch (err) {
      health.insertFailed(err);
      throw err;
    }
    health.insertSucceeded();
  };
}

async function openServer(ch: NonNullable<CanopyConfig['clickhouse']>): Promise<Storage> {
  const options = {
    url: ch.url,
    username: ch.user,
    password: ch.password,
    database: ch.database,
    // A group commit is already one big insert; server-side async inserts would only add latency.
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  } as const;
  await checkConnection(options, ch);
  const client = createClient({ ...options, log: { level: ClickHouseLogLevel.OFF } });
  const where = `ClickHouse at ${ch.url}`;
  const health = new WriteHealthMonitor(async () => {
    // Reaches the server, authenticates, and passes its checks for writing to spans (the user's grant,
    // readonly), without writing a row. The server's own disk shows in the inserts' outcome instead.
    try {
      await client.command({ query: 'INSERT INTO spans (trace_id) SELECT trace_id FROM spans WHERE 0' });
      return { ok: true };
    } catch (err) {
      const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 300);
      return { ok: false, reason: `${where} does not accept writes from Canopy (${reason}): check that the server is up and that CLICKHOUSE_USER may insert into ${ch.database}.spans.` };
    }
  }, where);
  return {
    backend: 'server',
    client,
    writeHealth: (opts) => health.check(opts),
    insertRaw: observed(health, async (table, payload, encoding = JSON_EACH_ROW) => {
      // exec, not insert: the client's insert() re-serialises each chunk of a stream for JSON formats
      // (a Buffer became {"type":"Buffer",...}); exec sends the ready-made bytes as the body untouched.
      // Table and column names are Canopy's own constants, checked to be plain identifiers.
      const names = [table, ...(encoding.columns ?? [])];
      if (!names.every((n) => IDENTIFIER.test(n))) throw new Error(`Not an identifier: ${names.join(', ')}`);
      const columns = encoding.columns ? ` (${encoding.columns.join(', ')})` : '';
      const { stream } = await client.exec({
        query: `INSERT INTO ${table}${columns} FORMAT ${encoding.format}`,
        values: Readable.from([payload]),
        clickhouse_settings: encoding.settings,
      });
      stream.resume(); // the response body is empty; reading it releases the socket for reuse
      await new Promise((resolve, reject) => stream.once('end', resolve).once('error', reject));
    }),
    async close() {
      await client.close();
    },
  };
}

const UNKNOWN_DATABASE = 81;

/**
 * The server answers, takes the credentials, and has the database. Canopy creates its own tables in it, but
 * not the database itself: a mistyped CLICKHOUSE_DATABASE would otherwise start Canopy on a new, empty one
 * (its traces seemingly gone), and where a database lives (engine, cluster, the user's grants) is the
 * server's administrator's choice.
 */
async function checkConnection(options: Parameters<typeof createClient>[0], ch: NonNullable<CanopyConfig['clickhouse']>): Promise<void> {
  // Its own client, silent: the reason goes into one sentence, not after the client's logged stack.
  const client = createClient({ ...options, log: { level: ClickHouseLogLevel.OFF } });
  try {
    await client.command({ query: 'SELECT 1' });
  } catch (err) {
    if (engineErrorCode(err) === UNKNOWN_DATABASE) {
      throw new DataDirError(
        `The database ${ch.database} does not exist in ClickHouse at ${ch.url}: create it (CREATE DATABASE ${ch.database}) ` +
          `or set CLICKHOUSE_DATABASE to an existing database; Canopy creates its tables, not the database.`,
      );
    }
    const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0].trim().slice(0, 300);
    throw new DataDirError(`Could not connect to ClickHouse at ${ch.url} (${reason}): check CLICKHOUSE_URL, CLICKHOUSE_USER and CLICKHOUSE_PASSWORD.`);
  } finally {
    await client.close();
  }
}
