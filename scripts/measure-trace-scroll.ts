// What the page does while a tree is scrolled (issue 12's bar: no long task over 50 ms while scrolling): the UI
// benchmark's sequence (scripts/bench/ui.ts) on a fresh Canopy — store the tree with the stock exporter, open
// it in Chromium at 1280×800, wait for the whole tree, "Expand all", then scroll 120 px a frame for 5 s — and,
// for each scroll:
//  - the page's own long-task observer, frames/s, the JS heap;
//  - the CPU of Canopy's process and of the whole machine over the scroll (/proc), to tell the page's cost from
//    contention with the server;
//  - with a Chrome trace (default; NOTRACE=1 to skip, as the bench runs): the renderer main thread's task
//    durations, the time in style, layout, paint, script and GC, and what the longest tasks were made of;
//  - PROFILE=1: the page's JS by self time.
//   node --import tsx scripts/measure-trace-scroll.ts   (env: SIZES=10000,100000 REPS=3 NOTRACE=1 PROFILE=1
//   CSS='…' to try a style rule on the page first)
import fs from 'node:fs';
import { chromium } from 'playwright-core';
import { startCanopy } from '../tests/helpers/canopy';
import { newPage, scrollThrough, sendTree, waitStored } from './bench/ui';

const SIZES = (process.env.SIZES ?? '10000,100000').split(',').map(Number);
const REPS = Number(process.env.REPS ?? 3);
const TRACE = !process.env.NOTRACE;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const f1 = (x: number) => x.toFixed(1);

interface TraceEvent { name: string; ph: string; ts: number; dur?: number; pid: number; tid: number; args?: { name?: string; data?: { functionName?: string; type?: string; url?: string } } }
interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }

/** CPU seconds a process used so far (utime + stime). */
function processCpu(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** CPU seconds the machine spent busy so far. */
function machineBusy(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  return (f[0] + f[1] + f[2] + f[5] + f[6]) / 100;
}

/** The renderer main thread of the page (the busiest CrRendererMain) from a Chrome trace. */
function mainThreadEvents(events: TraceEvent[]): TraceEvent[] {
  let best: TraceEvent[] = [];
  for (const m of events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain')) {
    const on = events.filter((e) => e.pid === m.pid && e.tid === m.tid && e.ph === 'X' && e.dur !== undefined).sort((a, b) => a.ts - b.ts);
    if (on.length > best.length) best = on;
  }
  return best;
}

function describeTrace(events: TraceEvent[]): string[] {
  const main = mainThreadEvents(events);
  const tasks = main.filter((e) => e.name === 'RunTask');
  const durs = tasks.map((t) => t.dur! / 1000).sort((a, b) => b - a);
  const total = (name: string) => main.filter((e) => e.name === name).reduce((s, e) => s + e.dur! / 1000, 0);
  const out = [
    `  tasks: ${tasks.length}, longest ${durs.slice(0, 6).map(f1).join(', ')} ms; ${[10, 16, 25, 35, 50].map((b) => `>${b} ms: ${durs.filter((d) => d > b).length}`).join(', ')}`,
    `  main thread ms: tasks ${total('RunTask').toFixed(0)} · style ${total('UpdateLayoutTree').toFixed(0)} · layout ${total('Layout').toFixed(0)} · paint ${total('Paint').toFixed(0)} · commit ${total('Commit').toFixed(0)} · script ${total('FunctionCall').toFixed(0)} · major GC ${total('MajorGC').toFixed(0)} · minor GC ${total('MinorGC').toFixed(0)}`,
  ];
  for (const task of tasks.filter((t) => t.dur! > 35_000).sort((a, b) => b.dur! - a.dur!).slice(0, 4)) {
    const inside = new Map<string, number>();
    for (const e of main) {
      if (e === task || e.ts < task.ts || e.ts + e.dur! > task.ts + task.dur!) continue;
      const what = e.name === 'FunctionCall' || e.name === 'EventDispatch' ? `${e.name}(${(e.args?.data?.functionName || e.args?.data?.type || e.args?.data?.url?.split('/').pop() || '').slice(0, 30)})` : e.name;
      inside.set(what, (inside.get(what) ?? 0) + e.dur!);
    }
    out.push(`  ${f1(task.dur! / 1000)} ms task: ${[...inside].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k} ${f1(v / 1000)}`).join(', ')}`);
  }
  return out;
}

function describeProfile(profile: { nodes: ProfileNode[]; samples?: number[]; timeDeltas?: number[] }): string[] {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const ms = new Map<string, number>();
  const samples = profile.samples ?? [];
  for (let i = 0; i < samples.length; i++) {
    const f = byNode.get(samples[i])?.callFrame;
    if (!f) continue;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}:${f.columnNumber + 1}`;
    ms.set(key, (ms.get(key) ?? 0) + (profile.timeDeltas?.[i + 1] ?? 0) / 1000);
  }
  return [...ms].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([k, v]) => `  ${v.toFixed(0).padStart(6)} ms  ${k}`);
}

async function main() {
  const canopy = await startCanopy();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    for (const size of SIZES) {
      const t = await sendTree(canopy.otlpUrl, size / 100, 99, false);
      await waitStored(canopy.url, t.traceId, t.spans);
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      // The bench's tab: its long-task observer is what the bench counts.
      const page = await newPage(context);
      await page.goto(`${canopy.url}/traces/${t.traceId}`, { waitUntil: 'commit' });
      await page.locator('.tree-counts', { hasText: /spans · / }).first().waitFor({ timeout: 300_000 });
      if (process.env.CSS) await page.addStyleTag({ content: process.env.CSS });
      const expand = page.getByRole('button', { name: /Expand all/ });
      if (await expand.count()) await expand.first().click();
      await sleep(500);
      const cdp = await context.newCDPSession(page);
      for (let rep = 1; rep <= REPS; rep++) {
        if (process.env.PROFILE) {
          await cdp.send('Profiler.enable');
          await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
          await cdp.send('Profiler.start');
        }
        if (TRACE) await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'blink', 'toplevel', 'disabled-by-default-v8.gc'] });
        const server0 = processCpu(canopy.process.pid!);
        const busy0 = machineBusy();
        const w0 = performance.now();
        const res = await scrollThrough(page, 5_000);
        const wall = (performance.now() - w0) / 1000;
        const server = (processCpu(canopy.process.pid!) - server0) / wall;
        const busy = (machineBusy() - busy0) / wall;
        const heap = await page.evaluate(() => ((performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0) / 2 ** 20);
        console.log(`\n${size.toLocaleString('en-US')}-span tree, scroll ${rep}: ${f1(res.fps)} frames/s, long tasks ${res.longTasks.length ? res.longTasks.join(', ') + ' ms' : 'none'}; heap ${heap.toFixed(0)} MiB; Canopy ${server.toFixed(2)} cores, machine ${busy.toFixed(2)} cores busy`);
        if (TRACE) for (const line of describeTrace((JSON.parse((await browser.stopTracing()).toString()) as { traceEvents: TraceEvent[] }).traceEvents)) console.log(line);
        if (process.env.PROFILE) for (const line of describeProfile((await cdp.send('Profiler.stop')).profile as never)) console.log(line);
      }
      await context.close();
    }
  } finally {
    await browser.close();
    await canopy.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
