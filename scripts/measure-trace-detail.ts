// What an open trace page costs per poll on a 10,000-span running tree: the full detail (GET /api/traces/:id)
// against the increment (?since=<cursor>) with nothing new and with 500 new spans, on a fresh Canopy (own data
// dir, free ports) fed by the stock OTLP exporter. Prints server time (wall, median of the runs), bytes, and the
// browser-side cost stand-in (JSON.parse, and applyIncrement for the increment) measured in this process.
//   node --import tsx scripts/measure-trace-detail.ts [--spans 10000] [--runs 7]
import fs from 'node:fs';
import { context, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { startCanopy } from '../tests/helpers/canopy';
import { exporterFor, recordingTracer, sendOk } from '../tests/helpers/otel';
import { startedReport } from '../sdk/src/start-processor';
import { applyIncrement, isIncrement, type TraceDetailResponse, type TraceIncrementResponse } from '../lib/domain';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SPANS = arg('spans', 10_000);
const RUNS = arg('runs', 7);

const llm = (i: number): Attributes => ({
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'openai',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.response.model': 'gpt-4o-mini',
  'gen_ai.usage.input_tokens': 1200 + (i % 50),
  'gen_ai.usage.output_tokens': 80 + (i % 7),
  'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: `Step ${i}: summarise the results of the previous tool call and decide what to do next.` }] }]),
  'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: `Calling run_tests again for step ${i}.` }] }]),
});
const tool = (i: number): Attributes => ({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'run_tests', 'gen_ai.tool.call.arguments': JSON.stringify({ path: 'src/', attempt: i % 3 }) });

function child(tracer: Tracer, parent: Span, name: string, attributes: Attributes): Span {
  return tracer.startSpan(name, { attributes }, trace.setSpan(context.active(), parent));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(url: string): Promise<{ ms: number; bytes: number; text: string }> {
  const t0 = performance.now();
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${url} → ${res.status} ${text.slice(0, 300)}`);
  return { ms: performance.now() - t0, bytes: Buffer.byteLength(text), text };
}

async function main() {
  const canopy = await startCanopy();
  try {
    const { tracer, finished, reset } = recordingTracer('measure-detail');
    const exporter = exporterFor(canopy.otlpUrl, 'proto');
    // A running root (reported at start, as the SDK does) with agents below it, each with its calls.
    const root = tracer.startSpan('invoke_agent Swarm', { attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Swarm' } });
    await sendOk(exporter, [startedReport(root as never)]);
    const agents: Span[] = [];
    let made = 1;
    let n = 0;
    const grow = async (count: number) => {
      for (let k = 0; k < count; k++, made++, n++) {
        if (agents.length === 0 || n % 100 === 0) {
          agents.push(child(tracer, root, `invoke_agent Worker-${agents.length}`, { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': `Worker-${agents.length}` }));
          continue;
        }
        const parent = agents[agents.length - 1];
        const s = n % 2 ? child(tracer, parent, 'chat gpt-4o-mini', llm(n)) : child(tracer, parent, 'execute_tool run_tests', tool(n));
        s.end();
      }
      // Agents end when their batch is sent: the tree is a running root over finished workers.
      const spans = finished();
      reset();
      for (let i = 0; i < spans.length; i += 2000) await sendOk(exporter, spans.slice(i, i + 2000));
    };
    await grow(SPANS - 1);
    for (const a of agents) a.end();
    await sendOk(exporter, finished());
    reset();
    const traceId = root.spanContext().traceId;
    const url = `${canopy.url}/api/traces/${traceId}`;
    let full = await timed(url);
    for (let i = 0; i < 40 && (JSON.parse(full.text) as TraceDetailResponse).spans.length < SPANS; i++) {
      await new Promise((r) => setTimeout(r, 250));
      full = await timed(url);
    }

    const fullRuns: number[] = [];
    const parseRuns: number[] = [];
    let detail!: TraceDetailResponse;
    for (let i = 0; i < RUNS; i++) {
      full = await timed(url);
      fullRuns.push(full.ms);
      const t0 = performance.now();
      detail = JSON.parse(full.text) as TraceDetailResponse;
      parseRuns.push(performance.now() - t0);
    }

    const idleRuns: number[] = [];
    let idle!: { ms: number; bytes: number; text: string };
    for (let i = 0; i < RUNS; i++) {
      idle = await timed(`${url}?since=${detail.cursor}`);
      idleRuns.push(idle.ms);
    }

    // 500 new spans under a new agent and the running root: what one second of a 500 spans/s tree adds.
    const before = detail;
    agents.length = 0;
    n = 0;
    await grow(500);
    for (const a of agents) a.end();
    await sendOk(exporter, finished());
    const grownRuns: number[] = [];
    const mergeRuns: number[] = [];
    let grown!: { ms: number; bytes: number; text: string };
    let merged: TraceDetailResponse | null = null;
    let changes = 0;
    for (let i = 0; i < RUNS; i++) {
      grown = await timed(`${url}?since=${before.cursor}`);
      grownRuns.push(grown.ms);
      const t0 = performance.now();
      let inc: TraceDetailResponse | TraceIncrementResponse;
      try {
        inc = JSON.parse(grown.text) as TraceDetailResponse | TraceIncrementResponse;
      } catch (err) {
        const at = Number(/position (\d+)/.exec(String(err))?.[1] ?? 0);
        throw new Error(`${String(err)}; ${grown.bytes} bytes; head ${grown.text.slice(0, 300)}; at ${grown.text.slice(at - 300, at + 100)}`);
      }
      if (!isIncrement(inc)) throw new Error('expected an increment');
      merged = applyIncrement(before, inc);
      mergeRuns.push(performance.now() - t0);
      changes = inc.changes.length;
    }
    const after = JSON.parse((await timed(url)).text) as TraceDetailResponse;
    if (process.argv.includes('--keep')) console.log(`trace ${traceId} cursor before growth ${before.cursor}`);
    const same = merged !== null && JSON.stringify(merged.spans.map((s) => [s.spanId, s.depth, s.rollup])) === JSON.stringify(after.spans.map((s) => [s.spanId, s.depth, s.rollup]));

    const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
    const lines = [
      `trace of ${before.spans.length} spans (running root), ${RUNS} runs each, medians; server wall time includes the HTTP round trip on loopback`,
      `full detail:             ${median(fullRuns).toFixed(1)} ms, ${kb(full.bytes)}; JSON.parse ${median(parseRuns).toFixed(1)} ms`,
      `increment, nothing new:  ${median(idleRuns).toFixed(1)} ms, ${kb(idle.bytes)}`,
      `increment, +500 spans:   ${median(grownRuns).toFixed(1)} ms, ${kb(grown.bytes)} (${changes} changes); JSON.parse + applyIncrement ${median(mergeRuns).toFixed(1)} ms`,
      `merged tree equals a fresh full read (ids, order, depths, rollups): ${same}`,
    ];
    console.log(lines.join('\n'));
    fs.writeFileSync('/tmp/canopy-measure-detail.txt', lines.join('\n') + '\n');
  } finally {
    await canopy.stop();
    if (process.argv.includes('--keep')) console.log(`data dir kept: ${canopy.dataDir}`);
    else fs.rmSync(canopy.dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
