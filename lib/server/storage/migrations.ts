import fs from 'node:fs';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';

const MIGRATION_FILE = /^(\d+)_[\w-]+\.sql$/;

interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/** Numbered `.sql` files, in order. A file may hold several statements separated by `;` at line end. */
function readMigrations(dir: string): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((f) => MIGRATION_FILE.test(f))
    .map((name) => {
      const sql = fs
        .readFileSync(path.join(dir, name), 'utf8')
        .split('\n')
        .filter((line) => !line.trimStart().startsWith('--'))
        .join('\n');
      const statements = sql
        .split(/;\s*$/m)
        .map((s) => s.trim())
        .filter(Boolean);
      return { version: Number(MIGRATION_FILE.exec(name)![1]), name, statements };
    })
    .sort((a, b) => a.version - b.version);
}

/** Applies each migration not yet recorded, once, in order, and records it. Returns the names applied. */
export async function migrate(client: ClickHouseClient, dir: string): Promise<string[]> {
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS canopy_migrations
            (version UInt32, name String, applied_at DateTime DEFAULT now())
            ENGINE = MergeTree ORDER BY version`,
  });
  const result = await client.query({ query: 'SELECT version FROM canopy_migrations', format: 'JSONEachRow' });
  const applied = new Set((await result.json<{ version: number }>()).map((r) => Number(r.version)));
  const done: string[] = [];
  for (const m of readMigrations(dir)) {
    if (applied.has(m.version)) continue;
    for (const statement of m.statements) await client.command({ query: statement });
    await client.insert({ table: 'canopy_migrations', values: [{ version: m.version, name: m.name }], format: 'JSONEachRow' });
    done.push(m.name);
  }
  return done;
}
