// Where the trace page's first rows go (issue 12's bar: 10,000 spans ≤ 1 s, 100,000 ≤ 3 s): on a fresh Canopy
// (own data dir, free ports) fed the same trees as the UI benchmark (scripts/bench/ui.ts) by the stock OTLP
// exporter, a real Chromium opens /traces/<id> and this prints, per tree:
//  - the page: navigation → first [role=treeitem] visible, and the document's own timing;
//  - each API request the page made: server time (request → first byte), body time and size on the wire/decoded;
//  - the main thread: long tasks (> 50 ms) before the first rows, and the top JS functions of a CPU profile
//    taken over the load (self time);
//  - the same detail read from Node: server time, bytes, and the client's work on it timed here (JSON.parse,
//    tree, repeats, rows, hottest) as a stand-in for the browser's.
//   node --import tsx scripts/measure-trace-page.ts [--sizes 10000,100000] [--runs 3] [--trace] [--trace-id ID] [--save-body DIR]
//   (--trace: what each long task of one load was, from a Chrome trace; --url/--otlp: an already running Canopy;
//   --trace-id: a tree stored there, of the one size given)
import { chromium, type Browser } from 'playwright-core';
import { startCanopy, type RunningCanopy } from '../tests/helpers/canopy';
import type { SpanView, TraceDetailResponse } from '../lib/domain';
import { treeFromApiOrder } from '../components/span-tree';
import { repeatGroups } from '../components/tree/repeats';
import { displayRows } from '../components/tree/rows';
import { hottestPath } from '../components/tree/hottest';
// The UI benchmark's trees, sent the same way.
import { sendTree, waitStored } from './bench/ui';

const argOf = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const SIZES = (argOf('sizes') ?? '10000,100000').split(',').map(Number);
const RUNS = Number(argOf('runs') ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f0 = (x: number) => Math.round(x).toLocaleString('en-US');
const f1 = (x: number) => x.toFixed(1);

interface PageRun {
  firstRowsMs: number;
  /** Navigation → the whole tree shown (the same as first rows when the first answer was whole). */
  wholeMs: number;
  ttfbMs: number;
  domContentLoadedMs: number;
  api: { url: string; startMs: number; ttfbMs: number; bodyMs: number; endMs: number; wireBytes: number; bodyBytes: number }[];
  longTasks: { startMs: number; ms: number }[];
  /** Long tasks from the first rows until the whole tree was shown. */
  longTasksAfter: { startMs: number; ms: number }[];
  profile: { fn: string; selfMs: number }[];
}

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }; hitCount?: number }

/** Self time per function of a CPU profile, heaviest first. */
function selfTimes(profile: { nodes: ProfileNode[]; samples?: number[]; timeDeltas?: number[] }): { fn: string; selfMs: number }[] {
  const byNode = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
  const ms = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const n = byNode.get(samples[i]);
    if (!n) continue;
    const { functionName, url, lineNumber, columnNumber } = n.callFrame;
    const file = url.split('/').pop() ?? '';
    const key = `${functionName || '(anonymous)'} ${file}${file ? `:${lineNumber + 1}:${columnNumber + 1}` : ''}`;
    ms.set(key, (ms.get(key) ?? 0) + (deltas[i + 1] ?? 0) / 1000);
  }
  return [...ms].map(([fn, selfMs]) => ({ fn, selfMs })).sort((a, b) => b.selfMs - a.selfMs);
}

interface TraceEvent { name: string; ph: string; ts: number; dur?: number; pid: number; tid: number; args?: { name?: string; data?: { functionName?: string; url?: string } } }

/**
 * The renderer main thread's long tasks (> 50 ms) from a Chrome trace, each with what took its time: the
 * heaviest events inside it by name (script evaluation, function calls, style, layout, GC…).
 */
function longTasksOfTrace(events: TraceEvent[], t0us: number): string[] {
  // Each renderer process has a CrRendererMain: the page's is the one that parsed its HTML.
  const main = events.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain' && events.some((x) => x.pid === e.pid && x.tid === e.tid && x.name === 'ParseHTML'));
  if (!main) return [];
  const onMain = events.filter((e) => e.pid === main.pid && e.tid === main.tid && e.ph === 'X' && e.dur !== undefined).sort((a, b) => a.ts - b.ts);
  const out: string[] = [];
  for (const task of onMain) {
    if (task.name !== 'RunTask' || task.dur! < 50_000) continue;
    const inside = new Map<string, number>();
    for (const e of onMain) {
      if (e === task || e.ts < task.ts || e.ts + e.dur! > task.ts + task.dur!) continue;
      if (e.ts > task.ts + task.dur!) break;
      const what = e.name === 'FunctionCall' || e.name === 'EvaluateScript' ? `${e.name}(${(e.args?.data?.functionName || e.args?.data?.url?.split('/').pop() || '').slice(0, 30)})` : e.name;
      inside.set(what, Math.max(inside.get(what) ?? 0, 0) + e.dur!);
    }
    const top = [...inside].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k} ${f0(v / 1000)}`).join(', ');
    out.push(`${f0(task.dur! / 1000)} ms @${f0((task.ts - t0us) / 1000)}: ${top}`);
  }
  return out;
}

async function openPage(browser: Browser, base: string, traceId: string, profile: boolean): Promise<PageRun> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  if (profile && process.argv.includes('--trace')) await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'blink', 'toplevel'] });
  // tsx keeps function names by wrapping them in __name(); functions serialised into the page need it too.
  await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  page.on('pageerror', (err) => console.log(`page error: ${err.message}`));
  page.on('console', (m) => m.type() === 'error' && console.log(`page console: ${m.text()}`));
  await page.addInitScript(() => {
    const w = window as unknown as { __longTasks: { startMs: number; ms: number }[]; __firstRow: number };
    w.__longTasks = [];
    w.__firstRow = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__longTasks.push({ startMs: e.startTime, ms: e.duration });
    }).observe({ type: 'longtask', buffered: true });
    new MutationObserver((_, obs) => {
      if (document.querySelector('[role=treeitem]')) {
        obs.disconnect();
        // The frame that draws it (scripts/bench/ui.ts measures the same way).
        requestAnimationFrame(() => (w.__firstRow = performance.now()));
      }
    }).observe(document, { childList: true, subtree: true });
  });
  // No CDP Network domain: with it, DevTools keeps and decodes every response body on the page's main thread
  // (seconds of long tasks for a 70 MiB detail that the page itself never pays). Sizes come from resource timing.
  const cdp = await page.context().newCDPSession(page);
  if (profile) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await cdp.send('Profiler.start');
  }
  try {
    const t0 = Date.now();
    await page.goto(`${base}/traces/${traceId}`, { waitUntil: 'commit' });
    await page.waitForFunction(() => (window as unknown as { __firstRow: number }).__firstRow > 0, null, { timeout: 120_000, polling: 50 });
    const firstRowsMs = await page.evaluate(() => (window as unknown as { __firstRow: number }).__firstRow);
    // The first answer may be the top of the tree only: then the whole tree follows, read while the rows show.
    await page.waitForFunction(() => !document.querySelector('.tree-counts')?.textContent?.includes('reading the rest'), null, { timeout: 300_000, polling: 50 });
    const wholeMs = Date.now() - t0;
    const prof = profile ? selfTimes((await cdp.send('Profiler.stop')).profile as never) : [];
    if (profile && process.argv.includes('--trace')) {
      const events = (JSON.parse((await browser.stopTracing()).toString()) as { traceEvents: TraceEvent[] }).traceEvents;
      const nav = events.find((e) => e.name === 'navigationStart') ?? events.find((e) => e.name === 'TracingStartedInBrowser');
      console.log('long tasks of the profiled load (trace):');
      for (const l of longTasksOfTrace(events, nav?.ts ?? 0)) console.log(`  ${l}`);
    }
    const inPage = await page.evaluate(() => {
      const w = window as unknown as { __longTasks: { startMs: number; ms: number }[]; __firstRow: number };
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      const api = (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
        .filter((r) => r.name.includes('/api/traces/'))
        .map((r) => ({ url: r.name, startMs: r.startTime, ttfbMs: r.responseStart - r.requestStart, bodyMs: r.responseEnd - r.responseStart, endMs: r.responseEnd, wireBytes: r.transferSize, bodyBytes: r.decodedBodySize }));
      return { firstRow: w.__firstRow, ttfb: nav.responseStart, dcl: nav.domContentLoadedEventEnd, api, longTasks: w.__longTasks.filter((t) => t.startMs < w.__firstRow), after: w.__longTasks.filter((t) => t.startMs >= w.__firstRow) };
    });
    return { firstRowsMs, wholeMs, ttfbMs: inPage.ttfb, domContentLoadedMs: inPage.dcl, api: inPage.api, longTasks: inPage.longTasks, longTasksAfter: inPage.after, profile: prof };
  } finally {
    await page.close();
  }
}

/** The detail read from Node, and the client's work on it timed here. */
async function nodeSide(base: string, traceId: string, runs: number) {
  const server: number[] = [];
  const parse: number[] = [];
  const tree: number[] = [];
  const reps: number[] = [];
  const rows: number[] = [];
  const hot: number[] = [];
  let bytes = 0;
  let gzipBytes = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const res = await fetch(`${base}/api/traces/${traceId}`);
    const buf = Buffer.from(await res.arrayBuffer());
    server.push(performance.now() - t0);
    bytes = buf.length;
    const text = buf.toString('utf8');
    let t = performance.now();
    const data = JSON.parse(text) as TraceDetailResponse;
    parse.push(performance.now() - t);
    t = performance.now();
    const tr = treeFromApiOrder(data.spans as SpanView[]);
    tree.push(performance.now() - t);
    t = performance.now();
    const rp = repeatGroups(tr);
    reps.push(performance.now() - t);
    t = performance.now();
    displayRows(tr, rp, { collapsed: new Set(), openGroups: new Set() });
    rows.push(performance.now() - t);
    t = performance.now();
    hottestPath(tr);
    hot.push(performance.now() - t);
    if (r === 0) gzipBytes = (await import('node:zlib')).gzipSync(buf, { level: 1 }).length;
    // --save-body <dir>: the detail as sent, for measuring the client's work on it alone.
    if (r === 0 && argOf('save-body')) (await import('node:fs')).writeFileSync(`${argOf('save-body')}/detail-${data.spans.length}.json`, buf);
  }
  return { serverMs: median(server), bytes, gzipBytes, parseMs: median(parse), treeMs: median(tree), repeatsMs: median(reps), rowsMs: median(rows), hottestMs: median(hot) };
}

async function main() {
  const external = argOf('url');
  const canopy: RunningCanopy | null = external ? null : await startCanopy();
  const base = external ?? canopy!.url;
  const otlp = argOf('otlp') ?? canopy?.otlpUrl ?? '';
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    for (const size of SIZES) {
      const t = argOf('trace-id') ?? (await sendTree(otlp, size / 100, 99, false)).traceId;
      const spans = argOf('trace-id') ? size : size + 1;
      if (!argOf('trace-id')) await waitStored(base, t, spans);
      console.log(`\n=== ${f0(spans)} spans, trace ${t}`);
      const node = await nodeSide(base, t, RUNS);
      console.log(`node: GET detail ${f0(node.serverMs)} ms (median of ${RUNS}), ${f1(node.bytes / 2 ** 20)} MiB (gzip -1: ${f1(node.gzipBytes / 2 ** 20)} MiB)`);
      console.log(`node: JSON.parse ${f0(node.parseMs)} ms · treeFromApiOrder ${f0(node.treeMs)} · repeatGroups ${f0(node.repeatsMs)} · displayRows ${f0(node.rowsMs)} · hottestPath ${f0(node.hottestMs)}`);
      const runs: PageRun[] = [];
      // A first visit warms the browser's cache of the page's scripts, as a person's second trace would.
      await openPage(browser, base, t, false);
      for (let r = 0; r < RUNS; r++) runs.push(await openPage(browser, base, t, false));
      const profiled = await openPage(browser, base, t, true);
      for (const [i, run] of runs.entries()) {
        const api = run.api.map((a) => `api @${f0(a.startMs)} ttfb ${f0(a.ttfbMs)} body ${f0(a.bodyMs)} → ${f0(a.endMs)} (${f1(a.wireBytes / 2 ** 20)} MiB wire, ${f1(a.bodyBytes / 2 ** 20)} MiB body)${a.url.includes('?') ? ' [' + a.url.split('?')[1].slice(0, 40) + ']' : ''}`).join('; ');
        const long = run.longTasks.map((l) => `${f0(l.ms)}@${f0(l.startMs)}`).join(' ');
        const after = run.longTasksAfter.map((l) => `${f0(l.ms)}@${f0(l.startMs)}`).join(' ');
        console.log(`run ${i + 1}: first rows ${f0(run.firstRowsMs)} ms, whole tree ${f0(run.wholeMs)} ms (in page ${f0(run.ttfbMs)} doc ttfb, ${f0(run.domContentLoadedMs)} DCL) · ${api} · long tasks before first rows: ${long || 'none'}; after, until whole: ${after || 'none'}`);
      }
      console.log(`first rows: median ${f0(median(runs.map((r) => r.firstRowsMs)))} ms; whole tree: median ${f0(median(runs.map((r) => r.wholeMs)))} ms`);
      const total = profiled.profile.reduce((s, p) => s + p.selfMs, 0);
      console.log(`profile of one load to the whole tree (${f0(profiled.firstRowsMs)} ms to first rows, ${f0(profiled.wholeMs)} ms to whole, ${f0(total)} ms sampled), top self time:`);
      for (const p of profiled.profile.slice(0, 30)) console.log(`  ${f0(p.selfMs).padStart(6)} ms  ${p.fn}`);
    }
  } finally {
    await browser.close();
    await canopy?.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
