// Spend counted once when instrumentations stack, with the published instrumentations themselves: OpenLLMetry's
// (@traceloop/instrumentation-openai, -langchain) and OpenInference's (@arizeai/openinference-instrumentation-
// openai, -langchain) around the official `openai` client and LangChain's ChatOpenAI, calling a real
// OpenAI-compatible HTTP server, exported by the stock OTLP exporter to a running Canopy. Each app makes three
// calls of 1,000/100 tokens (two under the branch `plan`, one under `answer`), priced at $1/$4 per million
// tokens by a price file: $0.0014 a call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { SpanView, TraceDetailResponse } from '../lib/domain';
import { context, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { startCanopy, type RunningCanopy } from './helpers/canopy';
import { findTrace, waitForTrace } from './helpers/api';
import { exporterFor, sendOk } from './helpers/otel';
import { formatCompact } from '../components/format';

const CALL = { inputTokens: 1000, outputTokens: 100, costUsd: 0.0014 };
const SCOPE = {
  traceloopOpenAI: '@traceloop/instrumentation-openai',
  traceloopLangChain: '@traceloop/instrumentation-langchain',
  openinferenceOpenAI: '@arizeai/openinference-instrumentation-openai',
  openinferenceLangChain: '@arizeai/openinference-instrumentation-langchain',
};

interface Case {
  name: string;
  client: 'openai' | 'langchain';
  instrumentations: string[];
  /** Model-call spans each call produces. */
  spansPerCall: number;
  /** The instrumentation whose spans count: the client's own, innermost. */
  counted: string;
}

const CASES: Case[] = [
  { name: 'OpenLLMetry: OpenAI instrumentation alone', client: 'openai', instrumentations: ['traceloop-openai'], spansPerCall: 1, counted: SCOPE.traceloopOpenAI },
  { name: 'OpenLLMetry: LangChain instrumentation alone', client: 'langchain', instrumentations: ['traceloop-langchain'], spansPerCall: 1, counted: SCOPE.traceloopLangChain },
  { name: 'OpenLLMetry: LangChain + OpenAI instrumentations (its SDK default)', client: 'langchain', instrumentations: ['traceloop-langchain', 'traceloop-openai'], spansPerCall: 2, counted: SCOPE.traceloopOpenAI },
  { name: 'OpenInference: OpenAI instrumentation alone', client: 'openai', instrumentations: ['openinference-openai'], spansPerCall: 1, counted: SCOPE.openinferenceOpenAI },
  { name: 'OpenInference: LangChain instrumentation alone', client: 'langchain', instrumentations: ['openinference-langchain'], spansPerCall: 1, counted: SCOPE.openinferenceLangChain },
  { name: 'OpenInference: LangChain + OpenAI instrumentations', client: 'langchain', instrumentations: ['openinference-langchain', 'openinference-openai'], spansPerCall: 2, counted: SCOPE.openinferenceOpenAI },
  // Both vendors at once: four spans per call. OpenInference's OpenAI span is active, so OpenLLMetry's nests in it.
  { name: 'all four at once', client: 'langchain', instrumentations: ['traceloop-langchain', 'traceloop-openai', 'openinference-langchain', 'openinference-openai'], spansPerCall: 4, counted: SCOPE.traceloopOpenAI },
];

let canopy: RunningCanopy;
let openai: http.Server;
let openaiUrl: string;
let requests: { stream: unknown }[] = [];

/** An OpenAI-compatible chat completions endpoint: every call uses 1,000 prompt and 100 completion tokens. */
function startOpenAIServer(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const request = JSON.parse(body || '{}');
      requests.push({ stream: request.stream });
      res.setHeader('content-type', 'application/json');
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions' || request.stream) {
        res.statusCode = 400;
        res.end(JSON.stringify({ error: { message: `unexpected ${req.method} ${req.url} stream=${request.stream}` } }));
        return;
      }
      res.end(JSON.stringify({
        id: `chatcmpl-${requests.length}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: request.model,
        choices: [{ index: 0, message: { role: 'assistant', content: '4' }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 1000, completion_tokens: 100, total_tokens: 1100 },
      }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  openai = await startOpenAIServer();
  openaiUrl = `http://127.0.0.1:${(openai.address() as AddressInfo).port}/v1`;
  const prices = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'canopy-prices-')), 'prices.json');
  fs.writeFileSync(prices, JSON.stringify({ models: [{ match: 'gpt-4o-mini*', inputPerMTok: 1, outputPerMTok: 4 }] }));
  canopy = await startCanopy({ env: { CANOPY_PRICES_FILE: prices } });
});
afterAll(async () => {
  await canopy?.stop();
  await new Promise((r) => openai?.close(r));
});

interface AppRun {
  traceId: string;
  branches: Record<'plan' | 'answer', string>;
  scopes: Record<string, string>;
}

async function runApp(c: Case): Promise<AppRun> {
  const env = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production' as const,
    OTEL_EXPORTER_OTLP_ENDPOINT: canopy.otlpUrl,
    OTEL_SERVICE_NAME: 'llm-app',
    CANOPY_APP_CLIENT: c.client,
    CANOPY_APP_INSTRUMENTATIONS: c.instrumentations.join(','),
    CANOPY_APP_OPENAI_URL: openaiUrl,
  };
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(import.meta.dirname, 'fixtures', 'llm-app.cjs')], {
    env,
    cwd: path.resolve(import.meta.dirname, '..'),
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

const usageOf = (x: { inputTokens: number; outputTokens: number; costUsd: number | null }) => ({ inputTokens: x.inputTokens, outputTokens: x.outputTokens, costUsd: x.costUsd });
const calls = (k: number) => ({ inputTokens: 1000 * k, outputTokens: 100 * k, costUsd: Math.round(0.0014 * k * 1e9) / 1e9, unpricedSpans: 0 });

describe('each model call counted once, with the published instrumentations', () => {
  const details = new Map<string, { run: AppRun; detail: TraceDetailResponse }>();

  for (const c of CASES) {
    it(c.name, async () => {
      requests = [];
      const run = await runApp(c);
      expect(requests).toHaveLength(3); // each call reached the server once, not streamed
      const spanCount = 3 + 3 * c.spansPerCall;
      const detail = await waitForTrace(canopy.url, run.traceId, spanCount);
      details.set(c.name, { run, detail });
      const scopeOf = (s: SpanView) => run.scopes[s.spanId];
      const modelCalls = detail.spans.filter((s) => s.category === 'llm');
      expect(modelCalls).toHaveLength(3 * c.spansPerCall);
      expect(new Set(modelCalls.map(scopeOf))).toEqual(new Set(c.instrumentations.map((i) => SCOPE[camel(i)])));

      // Every instrumentation reports the call's full usage: that is what used to be counted 2 or 4 times.
      for (const s of modelCalls) expect(usageOf(s)).toEqual(CALL);

      // Per call: one span counts, the client's own; every other span says where its usage went. Side by side,
      // the inner span is told by the times, which the OTel JS SDK rounds (starts to whole ms): when LangChain's
      // span started late and the two end within 1 ms, LangChain's may be the one counted (same tokens, same cost).
      const counted = detail.spans.filter((s) => s.countsSpend);
      expect(counted).toHaveLength(3);
      const framework = c.instrumentations.find((i) => i.endsWith('langchain'));
      const mayCount = c.spansPerCall === 2 && framework ? [c.counted, SCOPE[camel(framework)]] : [c.counted];
      for (const s of counted) {
        expect(mayCount).toContain(scopeOf(s));
        expect(s.spendCountedOn).toBeNull();
      }
      const countedIds = new Set(counted.map((s) => s.spanId));
      for (const s of detail.spans.filter((x) => !x.countsSpend)) {
        if (s.category !== 'llm') {
          expect(s.spendCountedOn).toBeNull();
          continue;
        }
        expect(countedIds.has(s.spendCountedOn!.spanId)).toBe(true);
        expect(s.spendCountedOn!.name).toBe(detail.spans.find((x) => x.spanId === s.spendCountedOn!.spanId)!.name);
        // The JS LangChain instrumentations never make their span active: the OpenAI span is its sibling, not
        // its child, so it is matched as the same call beside it; only a client span nested in another is `below`.
        const nested = scopeOf(s) === SCOPE.openinferenceOpenAI && c.counted === SCOPE.traceloopOpenAI;
        expect(s.spendCountedOn!.reason).toBe(nested ? 'below' : 'same-call');
      }

      // Per branch and per trace, in the detail and in the list alike.
      const branch = (id: string) => detail.spans.find((s) => s.spanId === id)!;
      expect(branch(run.branches.plan).rollup).toEqual({ spanCount: 1 + 2 * c.spansPerCall, ...calls(2) });
      expect(branch(run.branches.answer).rollup).toEqual({ spanCount: 1 + c.spansPerCall, ...calls(1) });
      const root = detail.spans.find((s) => s.depth === 0)!;
      expect(root.rollup).toEqual({ spanCount, ...calls(3) });
      expect(detail.trace).toMatchObject({ spanCount, maxDepth: c.spansPerCall === 4 ? 4 : 3, ...calls(3) });
      const listed = await findTrace(canopy.url, run.traceId);
      expect(listed).toEqual(detail.trace);
    });
  }

  it('the UI shows both spans of a stacked call and says which one counted', async () => {
    const { chromium } = await import('playwright-core');
    const stacked = details.get(CASES[2].name);
    expect(stacked).toBeDefined();
    const { detail, run } = stacked!;
    const langchain = detail.spans.find((s) => s.spendCountedOn !== null)!; // LangChain's span, as a rule
    const inner = detail.spans.find((s) => s.spanId === langchain.spendCountedOn!.spanId)!;
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      await page.goto(`${canopy.url}/traces/${run.traceId}`);
      const row = (id: string) => page.locator(`[role=treeitem][data-span-id="${id}"]`);
      // The three identical calls start grouped ("× 3"): every row shown.
      await page.getByRole('button', { name: 'Expand all' }).click();
      await row(langchain.spanId).waitFor();
      // Both rows are there; the inner call carries the usage, the other's own cost is marked as not counted.
      await row(inner.spanId).waitFor();
      expect(await row(inner.spanId).locator('[data-col=rollup-tokens]').textContent()).toBe(`${formatCompact(1000)}/${formatCompact(100)}`);
      expect(await row(inner.spanId).locator('[data-col=own-cost]').getAttribute('data-counted')).toBeNull();
      expect(await row(langchain.spanId).locator('[data-col=own-cost]').getAttribute('data-counted')).toBe('false');
      expect(await row(langchain.spanId).locator('[data-col=own-cost]').getAttribute('title')).toMatch(/^Not counted in totals/);
      await row(langchain.spanId).click();
      const note = page.getByTestId('span-details').getByTestId('spend-not-counted');
      await note.waitFor();
      expect(await note.textContent()).toBe(
        `Not counted in totals: another instrumentation reported this same call. Usage counted on the inner call ${inner.name}.`,
      );
      // The name leads to the span that counted.
      await note.getByRole('button').click();
      await expect.poll(() => page.getByTestId('span-details').getByTestId('spend-not-counted').count()).toBe(0);
      expect(await row(inner.spanId).getAttribute('aria-selected')).toBe('true');
    } finally {
      await browser.close();
    }
  });
});

describe('each model call counted once, for every shape of stack (spans sent through the stock exporter)', () => {
  it('nested, side by side and an agent-level sum, with names that need escaping', async () => {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'shapes' }),
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
    const app = provider.getTracer('app');
    const framework = provider.getTracer('framework');
    const client = provider.getTracer('client');
    const chat = (input: number, output: number): Attributes => ({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': input,
      'gen_ai.usage.output_tokens': output,
    });
    const under = (parent: Span) => trace.setSpan(context.active(), parent);
    // Times as ms since the epoch, so the calls' order does not depend on how fast this test runs.
    const t0 = Date.now() - 10_000;
    const start = (tracer: Tracer, name: string, parent: Span | null, at: number, attributes: Attributes = {}) =>
      tracer.startSpan(name, { attributes, startTime: t0 + at }, parent ? under(parent) : undefined);
    const root = start(app, 'agent', null, 0);
    // Nested (as Python's LangChain instrumentation does it): the client's span is the framework's child.
    const outer = start(framework, 'chat "outer" \\ ünïcode', root, 100, chat(1000, 100));
    const inner = start(client, 'chat "inner" \\ 名前 ✓', outer, 105, chat(1000, 100));
    inner.end(t0 + 190);
    outer.end(t0 + 195);
    // Side by side (as the JS instrumentations do it): both children of the caller's span.
    const lc = start(framework, 'ChatOpenAI', root, 200, chat(1000, 100));
    const oa = start(client, 'OpenAI "Chat" Completions', root, 205, chat(1000, 100));
    oa.end(t0 + 290);
    lc.end(t0 + 295);
    // An agent-level model span summing two calls below it.
    const sum = start(framework, 'agent llm', root, 300, chat(2000, 200));
    for (let i = 0; i < 2; i++) start(client, `call ${i}`, sum, 310 + 50 * i, chat(1000, 100)).end(t0 + 340 + 50 * i);
    sum.end(t0 + 400);
    root.end(t0 + 500);
    await sendOk(exporterFor(canopy.otlpUrl), memory.getFinishedSpans());

    const id = (s: Span) => s.spanContext().spanId;
    const detail = await waitForTrace(canopy.url, root.spanContext().traceId, 8);
    const span = (s: Span) => detail.spans.find((x) => x.spanId === id(s))!;
    expect(detail.trace).toMatchObject({ spanCount: 8, ...calls(4) });
    expect(await findTrace(canopy.url, root.spanContext().traceId)).toEqual(detail.trace);
    expect(span(outer)).toMatchObject({ countsSpend: false, spendCountedOn: { spanId: id(inner), name: 'chat "inner" \\ 名前 ✓', reason: 'below' } });
    expect(span(inner)).toMatchObject({ countsSpend: true, spendCountedOn: null, rollup: { ...calls(1), spanCount: 1 } });
    expect(span(outer).rollup).toMatchObject(calls(1));
    expect(span(lc)).toMatchObject({ countsSpend: false, spendCountedOn: { spanId: id(oa), name: 'OpenAI "Chat" Completions', reason: 'same-call' } });
    expect(span(oa).countsSpend).toBe(true);
    expect(span(sum)).toMatchObject({ countsSpend: false, spendCountedOn: { reason: 'below', name: 'call 0' }, rollup: { ...calls(2), spanCount: 3 } });
    expect(span(root).rollup).toMatchObject({ ...calls(4), spanCount: 8 });
  });
});

function camel(instrumentation: string): keyof typeof SCOPE {
  return ({
    'traceloop-openai': 'traceloopOpenAI',
    'traceloop-langchain': 'traceloopLangChain',
    'openinference-openai': 'openinferenceOpenAI',
    'openinference-langchain': 'openinferenceLangChain',
  } as const)[instrumentation]!;
}
