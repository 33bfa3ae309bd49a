// Server mode (CLICKHOUSE_URL): the official client's errors are classified like chDB's, so a refused
// export is a 400 and a storage failure a 503 on either backend. Its own file: chDB opens one data
// directory per process, and the HTTP endpoint runs on one.
import { expect, it } from 'vitest';
import { engineErrorCode, isDataError } from '../../lib/server/storage/insert-errors';
import { openStorage } from '../../lib/server/storage/storage';
import { loadConfig } from '../../lib/server/config';
import { startClickHouseHttp } from '../helpers/clickhouse-http';

it('server mode: the official client surfaces the engine codes; data errors and storage errors differ', async () => {
  const ch = await startClickHouseHttp({ user: 'u', password: 'p' });
  const server = await openStorage(loadConfig({ CLICKHOUSE_URL: ch.url, CLICKHOUSE_USER: 'u', CLICKHOUSE_PASSWORD: 'p' }));
  try {
    await server.client.command({ query: 'CREATE TABLE t (n UInt32, s Enum8(\'a\' = 1)) ENGINE = MergeTree ORDER BY n' });
    const fail = (table: string, bytes: string) => server.insertRaw(table, Buffer.from(bytes), { format: 'JSONCompactEachRow' }).then(() => null, (e: unknown) => e);
    const garbage = await fail('t', 'not json\n');
    expect([engineErrorCode(garbage), isDataError(garbage)]).toEqual([27, true]);
    const badEnum = await fail('t', '[1,"b"]\n');
    expect([engineErrorCode(badEnum), isDataError(badEnum)]).toEqual([691, true]);
    const missing = await fail('missing', '[1,"a"]\n');
    expect([engineErrorCode(missing), isDataError(missing)]).toEqual([60, false]);
  } finally {
    await server.close();
    await ch.close();
  }
});
