import { Readable } from 'node:stream';
import fs from 'node:fs';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import type { CanopyConfig } from '../config';

/**
 * The one handle on ClickHouse. Reads go through the official client on either backend; the bulk write
 * path hands the engine ready-made JSONEachRow bytes (never object rows, which serialise on the event loop).
 */
export interface Storage {
  readonly backend: 'embedded' | 'server';
  readonly client: ClickHouseClient;
  insertJsonEachRow(table: string, payload: Buffer): Promise<void>;
  close(): Promise<void>;
}

export class StorageLockedError extends Error {}

export async function openStorage(config: CanopyConfig): Promise<Storage> {
  return config.clickhouse ? openServer(config.clickhouse) : openEmbedded(config.dataDir);
}

function openEmbedded(dataDir: string): Storage {
  fs.mkdirSync(dataDir, { recursive: true });
  let connection: ReturnType<typeof createChdbConnection>;
  try {
    connection = createChdbConnection({ path: dataDir });
  } catch (err) {
    const cause = err instanceof Error ? `${err.message} ${String((err as { cause?: unknown }).cause ?? '')}` : String(err);
    if (/lock|already running/i.test(cause)) {
      throw new StorageLockedError(
        `The data directory ${dataDir} is in use by another Canopy process (the embedded ClickHouse allows one ` +
          `process per data directory). Stop that process or set CANOPY_DATA_DIR to another directory.`,
      );
    }
    throw err;
  }
  const client = createClient({ connection } as Parameters<typeof createClient>[0]);
  return {
    backend: 'embedded',
    client,
    async insertJsonEachRow(table, payload) {
      await connection.chdb.rawInsert({ table, values: payload, format: 'JSONEachRow' });
    },
    async close() {
      await client.close();
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
    async insertJsonEachRow(table, payload) {
      await client.insert({ table, values: Readable.from([payload]), format: 'JSONEachRow' });
    },
    async close() {
      await client.close();
    },
  };
}
