// Phase 4, after the reads at 1 M traces: the search's match set (`SELECT DISTINCT trace_id … WHERE text LIKE …`,
// what lib/server/queries/trace-list.ts reads for a filter rarer than COMMON_SHARE) on copies of the search text
// (trace_search) with each kind of skip index the engine offers, so the choice in
// migrations/005_trace_list_index.sql stays a measured one.
//
//   none        no index: a scan of the text
//   ngrambf     ngrambf_v1(3, 512, 2, 0) GRANULARITY 1: trigram bloom filters of 512 bytes per 64 rows (what Canopy uses)
//   tokenbf     tokenbf_v1(512, 2, 0) GRANULARITY 1: token bloom filters; a substring must be checked after it, and
//               it only helps when the search is made of whole tokens
//   text_ngram  text(tokenizer = ngrams(3)): the engine's inverted index over trigrams (exact postings)
//   text_token  text(tokenizer = splitByNonAlpha): the inverted index over words
//
// Each query runs with the query condition cache off, so every run reads as a first search would.

import type { ClickHouseClient } from '@clickhouse/client';

export interface SearchOption {
  kind: string;
  indexBytes: number;
  buildS: number;
  queries: { label: string; matches: number; p50: number; max: number }[];
}

const KINDS: { kind: string; index: string | null; match: (needle: string) => string }[] = [
  { kind: 'none', index: null, match: like },
  { kind: 'ngrambf', index: 'ngrambf_v1(3, 512, 2, 0) GRANULARITY 1', match: like },
  { kind: 'tokenbf', index: 'tokenbf_v1(512, 2, 0) GRANULARITY 1', match: (n) => `${tokens(n).map((t) => `hasToken(text, '${t}')`).join(' AND ')} AND ${like(n)}` },
  { kind: 'text_ngram', index: 'text(tokenizer = ngrams(3))', match: like },
  { kind: 'text_token', index: "text(tokenizer = 'splitByNonAlpha')", match: (n) => `hasAllTokens(text, [${tokens(n).map((t) => `'${t}'`).join(', ')}]) AND ${like(n)}` },
];

// Constant needles from the bench's data set (scripts/bench/dataset.ts), never user input.
const NEEDLES = [
  { label: '`run_tests` (1 trace in 10,000)', needle: 'run_tests' },
  { label: '`run_migrations` (1 in 200)', needle: 'run_migrations' },
  { label: '`ratelimit` (~1 in 6)', needle: 'ratelimit' },
];

function like(needle: string): string {
  return `text LIKE '%${needle.replace(/_/g, '\\\\_')}%'`;
}

function tokens(needle: string): string[] {
  return needle.split(/[^a-z0-9]+/).filter(Boolean);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;

export async function measureSearchOptions(client: ClickHouseClient, runs: number, log: (msg: string) => void): Promise<SearchOption[]> {
  const rows = async <T>(query: string) => (await client.query({ query, format: 'JSONEachRow' })).json<T>();
  const out: SearchOption[] = [];
  for (const k of KINDS) {
    const table = `search_option_${k.kind}`;
    await client.command({ query: `DROP TABLE IF EXISTS ${table}` });
    await client.command({
      query: `CREATE TABLE ${table} (trace_id FixedString(32), text String${k.index ? `, INDEX i text TYPE ${k.index}` : ''})
              ENGINE = MergeTree ORDER BY trace_id SETTINGS index_granularity = 64`,
    });
    const started = performance.now();
    await client.command({ query: `INSERT INTO ${table} SELECT trace_id, text FROM trace_search FINAL` });
    const buildS = (performance.now() - started) / 1000;
    const [size] = await rows<{ b: string }>(`SELECT toString(sum(secondary_indices_compressed_bytes)) AS b FROM system.parts WHERE active AND table = '${table}'`);
    const queries: SearchOption['queries'] = [];
    for (const { label, needle } of NEEDLES) {
      const times: number[] = [];
      let matches = 0;
      for (let i = 0; i < runs + 1; i++) {
        const t = performance.now();
        const [r] = await rows<{ n: string }>(
          `SELECT toString(count()) AS n FROM (SELECT DISTINCT trace_id FROM ${table} WHERE ${k.match(needle)}) SETTINGS use_query_condition_cache = 0`,
        );
        if (i > 0) times.push(performance.now() - t);
        matches = Number(r?.n ?? 0);
      }
      queries.push({ label, matches, p50: median(times), max: Math.max(...times) });
    }
    out.push({ kind: k.kind, indexBytes: Number(size?.b ?? 0), buildS, queries });
    log(`search option ${k.kind}: ${queries.map((q) => `${q.p50.toFixed(0)} ms`).join(' / ')}`);
    await client.command({ query: `DROP TABLE ${table}` });
  }
  return out;
}
