// The trace detail read as it arrives (lib/client/detail-text.ts): any split of the body gives the same detail
// as one JSON.parse, the page gets the thread back while a large body is parsed, and a body not in the line
// layout is still read whole. Also the server's side of that layout: the tree rows' integer fields read from bytes.
import { describe, expect, it } from 'vitest';
import { DetailLines, parseDetailText, readDetail } from '../../lib/client/detail-text';
import { integerAt, parseTreeRows } from '../../lib/server/queries/trace-detail';

/** A detail in the API's layout: each span on its own line. */
function detailText(spanCount: number, extra = ''): { text: string; value: unknown } {
  const spans = Array.from({ length: spanCount }, (_, i) => ({ spanId: i.toString(16).padStart(16, '0'), name: `call ${i} "quoted" ünïcode\tand\nnewline`, depth: i % 3, attributes: { k: `v${i}` } }));
  const head = `{"trace":{"traceId":"t","note":"a \\"spans\\":[ inside a string"},"alerts":[{"evidence":{"spans":[1,2]}}]${extra},"truncated":false,"cursor":"c1","spans":[`;
  const text = `${head}${spans.map((s, i) => `${i > 0 ? ',' : ''}\n${JSON.stringify(s)}`).join('')}\n]}`;
  return { text, value: JSON.parse(text) };
}

const noPause = async () => {};

describe('trace detail read line by line', () => {
  it('gives what JSON.parse gives, whatever the pieces', () => {
    for (const n of [0, 1, 2, 7, 300]) {
      const { text, value } = detailText(n);
      for (const size of [1, 2, 3, 17, 1000, text.length]) {
        const lines = new DetailLines();
        for (let at = 0; at < text.length; at += size) lines.push(text.slice(at, at + size));
        expect(lines.finish()).toEqual(value);
      }
    }
  });

  it('reads a body that is not one span a line (an older server, a compact body) whole', async () => {
    const value = { trace: { traceId: 't' }, truncated: false, spans: [{ spanId: 'a' }, { spanId: 'b' }] };
    expect(await parseDetailText(JSON.stringify(value), noPause)).toEqual(value);
    expect(await parseDetailText(JSON.stringify(value, null, 2), noPause)).toEqual(value);
    const lines = new DetailLines();
    lines.push(JSON.stringify(value).slice(0, 10));
    lines.push(JSON.stringify(value).slice(10));
    expect(lines.finish()).toEqual(value);
  });

  it('gives the page the thread back while a large body is parsed', async () => {
    const { text, value } = detailText(3000);
    let pauses = 0;
    let clock = 0;
    // Each look at the clock is 13 ms later: a pause is due after every piece (~450 KB in 64 Ki-character pieces).
    const detail = await parseDetailText(text, async () => void pauses++, () => (clock += 13));
    expect(detail).toEqual(value);
    expect(pauses).toBeGreaterThan(3);
  });

  it('reads a streamed response the same, split anywhere (even inside a UTF-8 character)', async () => {
    const { text, value } = detailText(500);
    const bytes = new TextEncoder().encode(text);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.length; at += 4093) controller.enqueue(bytes.slice(at, at + 4093));
        controller.close();
      },
    });
    expect(await readDetail(new Response(stream), noPause)).toEqual(value);
  });
});

describe('tree rows read from the engine\'s bytes', () => {
  it('reads integers as Number reads their text', () => {
    for (const s of ['0', '7', '-12', '1796040000035123', '', '-', '12a', '1.5', '1e3', '\\N']) {
      const b = Buffer.from(`x${s}y`);
      expect(integerAt(b, 1, 1 + s.length)).toEqual(Number(s));
    }
  });

  it('parses the tree columns of a row, the span JSON after them', () => {
    const row = ['00000000000000aa', '', '1767225600000123', '1767225600500456', '120', '7', '0.0025', '1', 'openai.scope', '1767225601000'].join('\t');
    const text = Buffer.from(`${row}\t{"spanId":"00000000000000aa"}\n${row.replace('\t0.0025\t1\t', '\t\\N\t0\t')}\t{}\n`);
    const { spans, truncated } = parseTreeRows(text, Infinity);
    expect(truncated).toBe(false);
    expect(spans[0]).toMatchObject({ spanId: '00000000000000aa', parentSpanId: null, start: 1767225600000123, end: 1767225600500456, inputTokens: 120, outputTokens: 7, costUsd: 0.0025, countsUsage: true, scope: 'openai.scope', ingestedMs: 1767225601000 });
    expect(text.toString('latin1', spans[0].jsonStart, spans[0].jsonEnd)).toBe('{"spanId":"00000000000000aa"}');
    expect(spans[1]).toMatchObject({ costUsd: null, countsUsage: false });
  });
});
