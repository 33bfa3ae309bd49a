import { Readable } from 'node:stream';
import fs from 'node:fs';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import type { CanopyConfig } from '../config';
import { lockDataDir, DataDirLockedError } from './data-dir-lock';

export { DataDirLockedError as StorageLockedError };

/**
 * The one handle on ClickHouse. Reads go through the official client on either backend; the bulk write
 * path hands the engine ready-made JSONEachRow bytes (never object rows, which serialise on the event loop).
 */
export interface Storage {
  readonly backend: 'embedded' | 'server';
  readonly client: ClickHouseClient;
  /** Inserts ready-made rows: JSONEachRow, or JSONCompactEachRow in the order of `encoding.columns`. */
  insertRaw(table: string, payload: Buffer, encoding?: RowEncoding): Promise<void>;
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
  return config.clickhouse ? openServer(config.clickhouse) : openEmbedded(config.dataDir);
}

function openEmbedded(dataDir: string): Storage {
  fs.mkdirSync(dataDir, { recursive: true });
  const unlock = lockDataDir(dataDir);
  let connection: ReturnType<typeof createChdbConnection>;
  try {
    connection = createChdbConnection({ path: dataDir });
  } catch (err) {
    unlock();
    throw err;
  }
  const client = createClient({ connection } as Parameters<typeof createClient>[0]);
  return {
    backend: 'embedded',
    client,
    async insertRaw(table, payload, encoding = JSON_EACH_ROW) {
      await connection.chdb.rawInsert({ table, values: payload, format: encoding.format, columns: encoding.columns, settings: encoding.settings });
    },
    async close() {
      await client.close();
      unlock();
    },
  };
}

function openServer(ch: NonNullable<CanopyConfig['clickhouse']>): Storage {
  const client = createClient({
    url: ch.url,
    username: ch.user,
    password: ch.password,
    database: ch.database,
    // A group commit is already one big insert; server-side async inserts would only add latency.
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  });
  return {
    backend: 'server',
    client,
    async insertRaw(table, payload, encoding = JSON_EACH_ROW) {
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
    },
    async close() {
      await client.close();
    },
  };
}
