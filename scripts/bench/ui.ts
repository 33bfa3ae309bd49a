// The console in a real Chromium (issue 12's performance bar), against a running Canopy:
//  - a 10,000-span and a 100,000-span tree: time from navigation to the first rows and to the whole tree, the JS
//    heap, and scrolling through the whole tree (every branch expanded) for a few seconds: frames per second and
//    long tasks (> 50 ms);
//  - a running 10,000-span tree growing by 500 spans/s: the browser's main-thread CPU while it stays live.
// Spans are recorded with the OTel SDK and sent with the stock exporter, as an agent would.

import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Attributes, Span } from '@opentelemetry/api';
import { exporterFor, recordingTracer, sendOk, startSpan } from '../../tests/helpers/otel';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const agent = (name: string): Attributes => ({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': name });
const chat = (i: number): Attributes => ({
  'gen_ai.operation.name': 'chat', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o',
  'gen_ai.usage.input_tokens': 100 + (i % 50), 'gen_ai.usage.output_tokens': 10, 'gen_ai.prompt': `step ${i}`,
});
const tool = (i: number): Attributes => ({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'grep', 'gen_ai.tool.call.arguments': JSON.stringify({ q: `term${i}` }) });

export interface TreeView {
  spans: number;
  /** Navigation → the first rows drawn: the median of the loads. */
  firstRowsMs: number;
  /** Each load's. */
  firstRowsRuns: number[];
  /** Navigation → the whole tree shown (every span counted in the toolbar), the median of the loads. */
  wholeTreeMs: number;
  heapMiB: number;
  fps: number;
  longTasks: number;
  longestTaskMs: number;
}

export interface LiveView {
  spansAtStart: number;
  spansAdded: number;
  seconds: number;
  /** Renderer main-thread task time ÷ wall time. */
  cpuCores: number;
  /** The page showed the last batch sent (its span count reached the total). */
  caughtUp: boolean;
}

/** A tree of `workers` agents under one root, each with `calls` calls (a third tools); the root left open when `running`. */
export async function sendTree(otlpUrl: string, workers: number, calls: number, running: boolean): Promise<{ traceId: string; spans: number; root: Span; rec: ReturnType<typeof recordingTracer> }> {
  const rec = recordingTracer(`bench-ui-${workers}x${calls}-${Date.now()}`);
  const root = startSpan(rec.tracer, 'invoke_agent Swarm', agent('Swarm'));
  const exporter = exporterFor(otlpUrl);
  let sent = 0;
  for (let a = 0; a < workers; a++) {
    const worker = startSpan(rec.tracer, `invoke_agent Worker-${a}`, agent(`Worker-${a}`), root);
    for (let c = 0; c < calls; c++) startSpan(rec.tracer, c % 3 === 0 ? 'execute_tool grep' : 'chat gpt-4o', c % 3 === 0 ? tool(c) : chat(c), worker).end();
    worker.end();
    if (rec.finished().length >= 5_000) {
      const batch = rec.finished();
      rec.reset();
      await sendOk(exporter, batch);
      sent += batch.length;
    }
  }
  if (!running) root.end();
  const rest = rec.finished();
  rec.reset();
  await sendOk(exporter, rest);
  await exporter.shutdown();
  return { traceId: root.spanContext().traceId, spans: sent + rest.length, root, rec };
}

export async function waitStored(base: string, traceId: string, spans: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const res = await fetch(`${base}/api/traces?q=${traceId}`);
    const body = (await res.json()) as { traces: { traceId: string; spanCount: number }[] };
    if ((body.traces.find((t) => t.traceId === traceId)?.spanCount ?? 0) >= spans) return;
    await sleep(500);
  }
  throw new Error(`trace ${traceId} never reached ${spans} spans`);
}

/** A tab of `context` (one browser profile: its cache of the page's scripts is shared by its tabs). */
export async function newPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  // tsx keeps function names by wrapping them in __name(); functions serialised into the page need it too.
  await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  await page.addInitScript(() => {
    const w = window as unknown as { __longTasks: number[]; __firstRow: number };
    w.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__longTasks.push(e.duration);
    }).observe({ type: 'longtask', buffered: true });
    // When the first row is drawn, in the page's own clock (ms since navigation started): the frame after it
    // entered the document, whether it came in the HTML or from the page's scripts.
    w.__firstRow = 0;
    new MutationObserver((_, observer) => {
      if (!document.querySelector('[role=treeitem]')) return;
      observer.disconnect();
      requestAnimationFrame(() => (w.__firstRow = performance.now()));
    }).observe(document, { childList: true, subtree: true });
  });
  return page;
}

/**
 * Scrolls the page's tree from top to bottom (and round again) by 120 px a frame for `ms`: frames per second and
 * the long tasks (ms) the page's observer (newPage) saw meanwhile.
 */
export function scrollThrough(page: Page, ms: number): Promise<{ fps: number; longTasks: number[] }> {
  return page.evaluate(async (ms) => {
    const w = window as unknown as { __longTasks: number[] };
    const tree = document.querySelector('[role=tree]');
    let el: Element | null = tree;
    while (el && !(el.scrollHeight > el.clientHeight + 10 && getComputedStyle(el).overflowY !== 'visible')) el = el.parentElement;
    const scroller = (el ?? tree) as HTMLElement;
    const before = w.__longTasks.length;
    let frames = 0;
    const start = performance.now();
    await new Promise<void>((resolve) => {
      const step = () => {
        frames++;
        scroller.scrollTop += 120;
        if (scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 2) scroller.scrollTop = 0;
        if (performance.now() - start < ms) requestAnimationFrame(step);
        else resolve();
      };
      requestAnimationFrame(step);
    });
    const fps = frames / ((performance.now() - start) / 1000);
    // A long task's entry is delivered after it ends: one at the end of the scroll would otherwise be missed.
    await new Promise((r) => setTimeout(r, 200));
    return { fps, longTasks: w.__longTasks.slice(before).map(Math.round) };
  }, ms);
}

/** Loads of each tree's page: the median is reported (one load is at the mercy of whatever else ran then). */
const LOADS = 3;
const VIEWPORT = { width: 1280, height: 800 };

/** Navigation to a stored tree's page → its first rows drawn, and → the whole tree shown. */
async function loadTree(page: Page, base: string, traceId: string): Promise<{ firstRowsMs: number; wholeTreeMs: number }> {
  const t0 = Date.now();
  // Not waiting for the load event: the first rows may be drawn before the document has ended.
  await page.goto(`${base}/traces/${traceId}`, { waitUntil: 'commit' });
  await page.waitForFunction(() => (window as unknown as { __firstRow: number }).__firstRow > 0, null, { timeout: 120_000, polling: 50 });
  const firstRowsMs = await page.evaluate(() => (window as unknown as { __firstRow: number }).__firstRow);
  // The page shows the top of the tree first and reads the rest meanwhile (lib/client/use-trace.ts): the whole
  // tree is there when the toolbar counts its spans.
  await page.locator('.tree-counts', { hasText: /spans · / }).first().waitFor({ timeout: 300_000 });
  return { firstRowsMs, wholeTreeMs: Date.now() - t0 };
}

/**
 * Opens a stored tree `LOADS` times, each in a new tab of a browser that has shown Canopy's list once (its
 * scripts cached, as a person's would be), then scrolls the last one from top to bottom (every branch
 * expanded) for `scrollMs`.
 */
async function viewTree(browser: Browser, base: string, traceId: string, spans: number, scrollMs: number): Promise<TreeView> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  try {
    return await viewTreeIn(context, base, traceId, spans, scrollMs);
  } finally {
    await context.close();
  }
}

async function viewTreeIn(context: BrowserContext, base: string, traceId: string, spans: number, scrollMs: number): Promise<TreeView> {
  const warm = await newPage(context);
  await warm.goto(`${base}/`);
  await warm.close();
  const loads: { firstRowsMs: number; wholeTreeMs: number }[] = [];
  for (let k = 1; k < LOADS; k++) {
    const page = await newPage(context);
    try {
      loads.push(await loadTree(page, base, traceId));
    } finally {
      await page.close();
    }
  }
  const page = await newPage(context);
  try {
    loads.push(await loadTree(page, base, traceId));
    const middle = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const firstRowsMs = middle(loads.map((l) => l.firstRowsMs));
    const wholeTreeMs = middle(loads.map((l) => l.wholeTreeMs));
    const firstRowsRuns = loads.map((l) => l.firstRowsMs);
    // Scrolling is measured through the whole tree.
    const expand = page.getByRole('button', { name: /Expand all/ });
    if (await expand.count()) await expand.first().click();
    await sleep(500);
    const heapMiB = await page.evaluate(() => ((performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0) / 2 ** 20);
    const scrolled = await scrollThrough(page, scrollMs);
    return { spans, firstRowsMs, firstRowsRuns, wholeTreeMs, heapMiB, fps: scrolled.fps, longTasks: scrolled.longTasks.length, longestTaskMs: scrolled.longTasks.length ? Math.max(...scrolled.longTasks) : 0 };
  } finally {
    await page.close();
  }
}

/** A running tree of ~10,000 spans open in the page while 500 spans/s more arrive for `seconds`. */
async function viewLiveTree(browser: Browser, base: string, otlpUrl: string, seconds: number): Promise<LiveView> {
  const tree = await sendTree(otlpUrl, 100, 99, true);
  await waitStored(base, tree.traceId, tree.spans);
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await newPage(context);
  try {
    await page.goto(`${base}/traces/${tree.traceId}`);
    await page.locator('[role=treeitem]').first().waitFor({ timeout: 120_000 });
    await sleep(2_000);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const taskSeconds = async () => ((await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0);
    const exporter = exporterFor(otlpUrl);
    const cpu0 = await taskSeconds();
    const t0 = performance.now();
    let added = 0;
    for (let s = 0; s < seconds; s++) {
      const worker = startSpan(tree.rec.tracer, `invoke_agent Late-${s}`, agent(`Late-${s}`), tree.root);
      for (let c = 0; c < 499; c++) startSpan(tree.rec.tracer, 'chat gpt-4o', chat(c), worker).end();
      worker.end();
      const batch = tree.rec.finished();
      tree.rec.reset();
      await sendOk(exporter, batch);
      added += batch.length;
      const wait = t0 + (s + 1) * 1000 - performance.now();
      if (wait > 0) await sleep(wait);
    }
    // The page's header says how many spans it shows: it caught up when it shows them all.
    const total = tree.spans + added;
    let caughtUp = false;
    for (let i = 0; i < 10 && !caughtUp; i++) {
      caughtUp = (await page.locator('body').textContent())?.replace(/[,\u202f ]/g, '').includes(String(total)) ?? false;
      if (!caughtUp) await sleep(500);
    }
    const wall = (performance.now() - t0) / 1000;
    const cpuCores = ((await taskSeconds()) - cpu0) / wall;
    await exporter.shutdown();
    return { spansAtStart: tree.spans, spansAdded: added, seconds: wall, cpuCores, caughtUp };
  } finally {
    await context.close();
  }
}

export async function measureUi(base: string, otlpUrl: string, opts: { big: number; scrollMs: number; liveSeconds: number }): Promise<{ trees: TreeView[]; live: LiveView }> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    const trees: TreeView[] = [];
    for (const workers of [100, opts.big / 100]) {
      const t = await sendTree(otlpUrl, workers, 99, false);
      await waitStored(base, t.traceId, t.spans);
      trees.push(await viewTree(browser, base, t.traceId, t.spans, opts.scrollMs));
    }
    const live = await viewLiveTree(browser, base, otlpUrl, opts.liveSeconds);
    return { trees, live };
  } finally {
    await browser.close();
  }
}
