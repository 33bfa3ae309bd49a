// Screenshots of the trace list (`/`) and of a trace page with an alert and a killed branch (the loop tree, at its
// killed branch), light and dark at 1280×800, into docs/screenshots/traces-<scheme>.png and trace-<scheme>.png.
// scripts/screenshots.ts calls shootTracePages after its own pages, on the data it seeds (a killed loop branch
// included). Alone, this script starts a fresh Canopy and seeds it with the simulator's trees, a running tree, a
// killed branch and a killed tree:
//   node --import tsx scripts/screenshots-trace.ts [--url http://127.0.0.1:3000]   (--url: shoot a running Canopy)
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import type { Alert, Kill } from '../lib/domain';
import { eventually, startCanopy, type RunningCanopy } from '../tests/helpers/canopy';
import { exporterFor, recordingTracer, sendOk, startSpan } from '../tests/helpers/otel';
import { simulateTrees } from '../tests/helpers/sim';
import { startedReport } from '../sdk/src/start-processor';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, 'docs', 'screenshots');
const VIEWPORT = { width: 1280, height: 800 };

/** The loop tree with its killed branch: the page opens at that branch, its details beside the tree. */
async function killedLoopBranch(base: string): Promise<{ traceId: string; spanId: string }> {
  return eventually(async () => {
    const { alerts } = (await (await fetch(`${base}/api/alerts?rule=loop&limit=20`)).json()) as { alerts: Alert[] };
    for (const a of alerts) {
      const detail = (await (await fetch(`${base}/api/traces/${a.traceId}`)).json()) as { kills?: Kill[] };
      const kill = detail.kills?.find((k) => k.scope === 'branch');
      if (kill?.spanId) return { traceId: a.traceId, spanId: kill.spanId };
    }
    return undefined;
  }, 60_000, 'a loop tree with a killed branch');
}

export async function shootTracePages(browser: Browser, base: string): Promise<void> {
  const loop = await killedLoopBranch(base);
  const pages = [
    { name: 'traces', path: '/', ready: 'tr.trace-row.has-alert' },
    { name: 'trace', path: `/traces/${loop.traceId}?span=${loop.spanId}`, ready: '.tree-row.is-killed' },
  ];
  fs.mkdirSync(OUT, { recursive: true });
  for (const scheme of ['light', 'dark'] as const) {
    const ctx = await browser.newContext({ viewport: VIEWPORT, colorScheme: scheme, deviceScaleFactor: 1 });
    const page = await ctx.newPage();
    for (const p of pages) {
      await page.goto(`${base}${p.path}`);
      await page.locator(p.ready).first().waitFor({ timeout: 60_000 }).catch(async (err: Error) => {
        await page.screenshot({ path: `/tmp/canopy-screenshot-failure-${p.name}.png` });
        throw new Error(`${p.name} did not render (see /tmp/canopy-screenshot-failure-${p.name}.png): ${err.message}`);
      });
      await page.locator('.health[data-health="ok"]').waitFor({ timeout: 15_000 });
      await page.waitForTimeout(500);
      const file = path.join(OUT, `${p.name}-${scheme}.png`);
      await page.screenshot({ path: file });
      console.log(path.relative(ROOT, file));
    }
    await ctx.close();
  }
}

/** The simulator's healthy and runaway trees, a tree still running, the loop's branch killed, one tree killed whole. */
async function seed(canopy: RunningCanopy): Promise<void> {
  await simulateTrees(['--endpoint', canopy.otlpUrl, '--api', canopy.url, '--scenario', 'normal,normal,normal,normal,loop,pingpong,fanout,retry_storm,normal,normal', '--once', '--fast', '--seed', '7']);
  const { tracer, finished } = recordingTracer('research-agent');
  const exporter = exporterFor(canopy.otlpUrl, 'proto');
  const root = startSpan(tracer, 'invoke_agent DeepResearch', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'DeepResearch' });
  await sendOk(exporter, [startedReport(root as never)]);
  for (let i = 0; i < 4; i++) {
    startSpan(tracer, 'chat gpt-4o', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 4000 + i * 900, 'gen_ai.usage.output_tokens': 300 }, root).end();
  }
  await sendOk(exporter, finished());
  const alerts = await eventually(async () => {
    const { alerts: found } = (await (await fetch(`${canopy.url}/api/alerts?limit=100`)).json()) as { alerts: Alert[] };
    const rules = new Set(found.map((a) => a.rule));
    return ['loop', 'fanout'].every((r) => rules.has(r as Alert['rule'])) ? found : undefined;
  }, 60_000, 'alerts on the runaway trees');
  const write = { method: 'POST', headers: { 'content-type': 'application/json' } };
  const loop = alerts.find((a) => a.rule === 'loop')!;
  await fetch(`${canopy.url}/api/traces/${loop.traceId}/kill`, { ...write, body: JSON.stringify({ spanId: loop.spanId, reason: `Loop alert: ${loop.title}` }) });
  const fanout = alerts.find((a) => a.rule === 'fanout')!;
  await fetch(`${canopy.url}/api/traces/${fanout.traceId}/kill`, { ...write, body: JSON.stringify({ reason: 'fan-out past 40 workers' }) });
}

async function main() {
  const urlFlag = process.argv.indexOf('--url');
  let canopy: RunningCanopy | null = null;
  let base: string;
  if (urlFlag > 0) base = process.argv[urlFlag + 1].replace(/\/+$/, '');
  else {
    canopy = await startCanopy();
    base = canopy.url;
    await seed(canopy);
  }
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    await shootTracePages(browser, base);
  } finally {
    await browser?.close();
    await canopy?.stop();
    if (canopy) fs.rmSync(canopy.dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
