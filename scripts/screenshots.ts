// Screenshots of the console's pages (alerts, spend, settings) in light and dark at 1280×800, into
// docs/screenshots/<page>-<scheme>.png. Starts a fresh Canopy (own data dir, free ports, a local webhook
// receiver, a default tree budget of $5) and gives it real data through the stock OTLP exporter: a day of
// ordinary agent trees dated over the last 24 h (several services and models, one model without a price), then
// the simulator's runaways, which the detector alerts on (two rules' auto-kill policies in observe mode); one
// alert is acknowledged and one branch killed through the API. Then Debian's Chromium shoots each page in each
// colour scheme.
//   node --import tsx scripts/screenshots.ts [--url http://127.0.0.1:3000]   (--url: shoot a running Canopy as is)
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { context, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import type { Alert } from '../lib/domain';
import { eventually, startCanopy, type RunningCanopy } from '../tests/helpers/canopy';
import { exporterFor, recordingTracer, sendOk } from '../tests/helpers/otel';
import { simulateTrees } from '../tests/helpers/sim';
import { shootTracePages } from './screenshots-trace';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, 'docs', 'screenshots');
const VIEWPORT = { width: 1280, height: 800 };
const PAGES = [
  { name: 'alerts', path: '/alerts', ready: '.alert-card' },
  { name: 'spend', path: '/spend?range=24h&by=model', ready: '.recharts-area-area' },
  { name: 'settings', path: '/settings', ready: '.rule-fieldset' },
] as const;

async function main() {
  const urlFlag = process.argv.indexOf('--url');
  let canopy: RunningCanopy | null = null;
  let receiver: http.Server | null = null;
  let base: string;
  if (urlFlag > 0) {
    base = process.argv[urlFlag + 1].replace(/\/+$/, '');
  } else {
    // A webhook receiver that takes every alert, and a default budget: the settings page shows both at work.
    receiver = http.createServer((req, res) => req.resume().on('end', () => res.writeHead(200).end()));
    await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/canopy`;
    canopy = await startCanopy({ env: { CANOPY_WEBHOOK_URL: hook, CANOPY_TREE_BUDGET_USD: '5' } });
    base = canopy.url;
    await seed(canopy);
  }
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    fs.mkdirSync(OUT, { recursive: true });
    for (const scheme of ['light', 'dark'] as const) {
      const ctx = await browser.newContext({ viewport: VIEWPORT, colorScheme: scheme, deviceScaleFactor: 1 });
      const page = await ctx.newPage();
      for (const p of PAGES) {
        await page.goto(`${base}${p.path}`);
        await page.locator(p.ready).first().waitFor({ timeout: 60_000 }).catch(async (err: Error) => {
          await page.screenshot({ path: `/tmp/canopy-screenshot-failure-${p.name}.png` });
          throw new Error(`${p.name} did not render (see /tmp/canopy-screenshot-failure-${p.name}.png): ${err.message}`);
        });
        await page.locator('.health[data-health="ok"]').waitFor({ timeout: 15_000 });
        await page.waitForTimeout(500); // charts lay out after their container is measured
        const file = path.join(OUT, `${p.name}-${scheme}.png`);
        await page.screenshot({ path: file });
        console.log(path.relative(ROOT, file));
      }
      await ctx.close();
    }
    // The trace list and the loop tree's page, at its killed branch (scripts/screenshots-trace.ts).
    await shootTracePages(browser, base);
  } finally {
    await browser?.close();
    await canopy?.stop();
    if (canopy) fs.rmSync(canopy.dataDir, { recursive: true, force: true });
    receiver?.close();
  }
}

/** A small deterministic generator: the same screenshots from one run to the next. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const MODELS = [
  { model: 'gpt-4o', provider: 'openai', weight: 3 },
  { model: 'gpt-4o-mini', provider: 'openai', weight: 5 },
  { model: 'claude-sonnet-4-5', provider: 'anthropic', weight: 2 },
  { model: 'acme-support-ft-v2', provider: 'acme', weight: 1 }, // no known price: shows as unpriced
] as const;
const WORKFLOWS = [
  { service: 'support-bot', root: 'invoke_agent SupportTriage', tools: ['search_kb', 'lookup_order'] },
  { service: 'research-agent', root: 'invoke_agent DeepResearch', tools: ['web_search', 'fetch_page'] },
  { service: 'billing-agent', root: 'invoke_agent InvoiceFixer', tools: ['get_invoice', 'apply_credit'] },
] as const;

function child(tracer: Tracer, parent: Span, name: string, attributes: Attributes, startMs: number, endMs: number): Span {
  const span = tracer.startSpan(name, { attributes, startTime: new Date(startMs) }, trace.setSpan(context.active(), parent));
  span.end(new Date(endMs));
  return span;
}

/** A day of ordinary trees (dated over the last 24 h), then runaways now; one alert acknowledged, one branch killed. */
async function seed(canopy: RunningCanopy) {
  const rand = prng(42);
  const pickModel = () => {
    let r = rand() * MODELS.reduce((s, m) => s + m.weight, 0);
    for (const m of MODELS) if ((r -= m.weight) < 0) return m;
    return MODELS[0];
  };
  const now = Date.now();
  for (const wf of WORKFLOWS) {
    const { tracer, finished } = recordingTracer(wf.service);
    for (let i = 0; i < 70; i++) {
      // Busier in the working hours of the last day: more trees, more calls.
      const start = now - 24 * 3600_000 + rand() * 24 * 3600_000 - 60_000;
      const root = tracer.startSpan(wf.root, { attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': wf.root.split(' ')[1] }, startTime: new Date(start) });
      let t = start + 50;
      const calls = 2 + Math.floor(rand() * 5);
      for (let c = 0; c < calls; c++) {
        const m = pickModel();
        const input = Math.floor(800 + rand() * (wf.service === 'research-agent' ? 24_000 : 6_000));
        const output = Math.floor(60 + rand() * 900);
        const dur = 400 + rand() * 4000;
        child(tracer, root, `chat ${m.model}`, {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': m.provider,
          'gen_ai.request.model': m.model,
          'gen_ai.response.model': m.model,
          'gen_ai.usage.input_tokens': input,
          'gen_ai.usage.output_tokens': output,
        }, t, t + dur);
        t += dur + 20;
        const tool = wf.tools[c % wf.tools.length];
        child(tracer, root, `execute_tool ${tool}`, { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool }, t, t + 300);
        t += 320;
      }
      root.end(new Date(t + 10));
    }
    await sendOk(exporterFor(canopy.otlpUrl, 'proto'), finished());
  }
  // Policies in observe mode record on the alert what they would have killed: the page shows it.
  const rules = (await (await fetch(`${canopy.url}/api/detector/rules`)).json()) as Record<string, unknown>;
  const observe = { mode: 'observe', warning: 'off', critical: 'branch' };
  const put = await fetch(`${canopy.url}/api/detector/rules`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...rules, autoKill: { ...(rules.autoKill as object), retry_storm: observe, pingpong: observe } }),
  });
  if (!put.ok) throw new Error(`PUT /api/detector/rules: ${put.status} ${await put.text()}`);
  const runaways = await simulateTrees(['--endpoint', canopy.otlpUrl, '--api', canopy.url, '--scenario', 'loop,pingpong,fanout,retry_storm', '--once', '--fast', '--seed', '11']);
  const alerts = await eventually(async () => {
    const res = await fetch(`${canopy.url}/api/alerts?limit=100`);
    const body = (await res.json()) as { alerts: Alert[] };
    const rules = new Set(body.alerts.map((a) => a.rule));
    return ['loop', 'fanout', 'retry_storm'].every((r) => rules.has(r as Alert['rule'])) ? body.alerts : undefined;
  }, 60_000, 'alerts on the runaway trees');
  const write = { method: 'POST', headers: { 'content-type': 'application/json' } };
  const loop = alerts.find((a) => a.rule === 'loop')!;
  await fetch(`${canopy.url}/api/traces/${loop.traceId}/kill`, { ...write, body: JSON.stringify({ spanId: loop.spanId, reason: `Loop alert: ${loop.title}` }) });
  const fanout = alerts.find((a) => a.rule === 'fanout')!;
  await fetch(`${canopy.url}/api/alerts/${fanout.id}/ack`, { ...write, body: '{}' });
  console.log(`seeded: 210 ordinary trees over the last 24 h, ${runaways.length} runaways, ${alerts.length} alerts`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
