// Rows go into ClickHouse as the receiver writes them (JSONCompactEachRow in SPAN_COLUMNS order). One
// unparsable value fails the whole insert, losing every span batched with it, so the rows are checked
// against the real table.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Session } from 'chdb';
import { normaliseRequest } from '../../ingest/normalise/index';
import type { SpanRow } from '../../ingest/types';
import { SPAN_ROWS_FORMAT, toSpanRowsPayload } from '../../ingest/serialise';
import { decodeJson, defaultPrices, recorder, rowsFor, start } from './otlp-fixtures';
import { MAX_COST_USD, MAX_NAME_CHARS, MAX_TOKENS } from '../../ingest/normalise/limits';

const ROOT = path.resolve(import.meta.dirname, '../..');
let session: Session;

beforeAll(() => {
  session = new Session();
  for (const file of fs.readdirSync(path.join(ROOT, 'migrations')).filter((f) => f.endsWith('.sql')).sort()) {
    const sql = fs.readFileSync(path.join(ROOT, 'migrations', file), 'utf8');
    for (const statement of sql.split(/;\s*$/m).map((s) => s.replace(/^\s*--.*$/gm, '').trim()).filter(Boolean)) session.query(statement);
  }
});

afterAll(() => session?.close());

function edgeRows(traceHex: string): SpanRow[] {
  const spans = (times: [string, string][]) =>
    times.map(([start, end], i) => ({
      traceId: traceHex,
      spanId: (i + 1).toString(16).padStart(16, '0'),
      name: i === 0 ? 'lone \\ud83d surrogate' : `span ${i}`,
      startTimeUnixNano: start,
      endTimeUnixNano: end,
      attributes: [
        { key: '__proto__', value: { stringValue: 'data' } },
        { key: 'big', value: { stringValue: 'x'.repeat(32 * 1024 - 45) + '😀'.repeat(100) } },
        { key: 'tokens', value: { intValue: '9223372036854775807' } },
        { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
        { key: 'gen_ai.request.model', value: { stringValue: 'no-such-model' } },
        { key: 'gen_ai.usage.input_tokens', value: { doubleValue: 12.7 } },
      ],
    }));
  const body = JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'edge' } }] },
        scopeSpans: [
          {
            spans: spans([
              ['1700000000123456789', '1700000000223456789'],
              ['0', '1'],
              ['10000000000', '999999999999'],
              ['1000000000000', '99999999999999999'],
              ['18446744073709551615', '18446744073709551615'],
            ]),
          },
        ],
      },
    ],
  }).replace('lone \\\\ud83d', 'lone \\ud83d');
  return normaliseRequest(decodeJson(body), { prices: defaultPrices, retentionDays: 30 });
}

function sdkRows(): SpanRow[] {
  const r = recorder({ 'service.name': 'sdk' });
  const root = start(r.tracer, { name: 'invoke_agent Planner', attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Planner' } });
  start(r.tracer, {
    name: 'chat gpt-4o',
    parent: root,
    attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 10, tags: ['a', 'b'] },
  }).end();
  root.end();
  return rowsFor(r.spans());
}

async function insert(rows: SpanRow[], dateTimeInputFormat: 'basic' | 'best_effort') {
  await session.insert({
    table: 'spans',
    values: toSpanRowsPayload(rows),
    format: SPAN_ROWS_FORMAT.format,
    columns: SPAN_ROWS_FORMAT.columns,
    settings: { date_time_input_format: dateTimeInputFormat },
  });
}

function stored(traceHex: string) {
  const out = session.query(
    `SELECT span_id, toString(toUnixTimestamp64Nano(start_time)) AS s, toString(toUnixTimestamp64Nano(end_time)) AS e, name,
            input_tokens, cost_usd, counts_usage, attributes['__proto__'] AS proto, attributes['big'] AS big
     FROM spans FINAL WHERE trace_id = '${traceHex}' ORDER BY span_id`,
    'JSONEachRow',
  );
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .map((r) => ({ ...r, big: (r.big as string).length })); // UTF-16 units, as the cap counts them
}

describe('rows insert into the spans table exactly', () => {
  it('writes each row as the JSON array of its values in SPAN_COLUMNS order', () => {
    const rows = edgeRows('ab'.repeat(16));
    const lines = toSpanRowsPayload(rows).toString('utf8').trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(rows.map((r) => SPAN_ROWS_FORMAT.columns.map((c) => r[c])));
  });

  it('writes every column of the table but the ingest time, each once', () => {
    const columns = session.query("SELECT name FROM system.columns WHERE table = 'spans' AND database = currentDatabase() ORDER BY position", 'JSONCompact');
    const names = (JSON.parse(columns).data as string[][]).map((r) => r[0]).filter((n) => n !== 'ingested_at');
    expect([...SPAN_ROWS_FORMAT.columns].sort()).toEqual([...names].sort());
  });

  for (const mode of ['basic', 'best_effort'] as const) {
    it(`with date_time_input_format=${mode}`, async () => {
      const trace = (mode === 'basic' ? 'b' : 'e').repeat(32);
      await insert(edgeRows(trace), mode);
      expect(stored(trace)).toEqual([
        { span_id: '0000000000000001', s: '1700000000123456789', e: '1700000000223456789', name: 'lone \ufffd surrogate', input_tokens: 12, cost_usd: null, counts_usage: 1, proto: 'data', big: 32 * 1024 },
        expect.objectContaining({ s: '0', e: '0' }), // unset times
        expect.objectContaining({ s: '0', e: '0' }), // within 16 minutes of the epoch: not a clock reading
        expect.objectContaining({ s: '1000000000000', e: '99999999999999999' }),
        expect.objectContaining({ s: '9223372036854775807', e: '9223372036854775807' }), // DateTime64(9) ends in 2262
      ]);
      const sdk = sdkRows();
      await insert(sdk, mode);
      const back = stored(sdk[0].trace_id);
      expect(back.map((r) => [r.s, r.input_tokens, r.counts_usage])).toEqual(
        [...sdk].sort((a, b) => a.span_id.localeCompare(b.span_id)).map((r) => [r.start_time, r.input_tokens, r.counts_usage]),
      );
    });
  }

  it('a 10 MiB name and absurd numbers are stored capped and finite, and sum finitely', async () => {
    const trace = 'f'.repeat(32);
    const name = 'n'.repeat(10 * 1024 * 1024 - 2) + '😀'; // 10 MiB of UTF-16 units
    const attr = (key: string, value: object) => ({ key, value });
    const spans = Array.from({ length: 50 }, (_, i) => ({
      traceId: trace,
      spanId: (i + 1).toString(16).padStart(16, '0'),
      name: i === 0 ? name : 'chat',
      startTimeUnixNano: '1700000000123456789',
      endTimeUnixNano: '1700000000223456789',
      attributes: [
        attr('gen_ai.operation.name', { stringValue: 'chat' }),
        attr('gen_ai.request.model', { stringValue: 'gpt-4o' }),
        attr('gen_ai.usage.input_tokens', { doubleValue: 1e300 }),
        attr('gen_ai.usage.output_tokens', { intValue: '9223372036854775807' }),
        attr('llm.cost.total', { doubleValue: 1e300 }),
      ],
    }));
    const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ spans }] }] });
    await insert(normaliseRequest(decodeJson(body), { prices: defaultPrices, retentionDays: 30 }), 'basic');
    const out = JSON.parse(
      session.query(
        `SELECT max(lengthUTF8(name)) AS longest, argMax(name, length(name)) AS cut, sum(input_tokens) AS input, sum(output_tokens) AS output,
                sum(cost_usd) AS cost, max(cost_usd) AS top FROM spans FINAL WHERE trace_id = '${trace}'`,
        'JSONEachRow',
      ),
    );
    expect(out.longest).toBeLessThanOrEqual(MAX_NAME_CHARS); // code points; all in the BMP here, so UTF-16 units too
    expect(out.cut).toMatch(/^n+…\[truncated \d+ of 10485760 chars\]$/);
    expect(Number(out.input)).toBe(50 * MAX_TOKENS);
    expect(Number(out.output)).toBe(50 * MAX_TOKENS);
    expect(Number.isFinite(out.cost)).toBe(true);
    expect(out.top).toBeLessThanOrEqual(MAX_COST_USD); // the explicit 1e300 was ignored for the table's price
    expect(out.top).toBeGreaterThan(0);
  });

  it('feeds the traces index (materialized view)', () => {
    const rows = session.query(`SELECT count() AS n FROM traces WHERE trace_id = '${'e'.repeat(32)}'`, 'JSONEachRow');
    expect(JSON.parse(rows).n).toBe(1);
  });
});
