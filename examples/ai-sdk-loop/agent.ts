// A Vercel AI SDK agent stuck in a tool loop, and stopped by Canopy. The model (a mock from `ai/test`, so no
// API key is needed) asks for `run_tests` every turn; the tests always fail; nothing in the loop would stop it
// before LOOP_MAX_STEPS. It runs with `abortSignal: killSignal()`, so a kill of its tree (or of a branch above
// it) ends generateText within a second.
//
//   npm start                                          # Canopy, in another terminal
//   node --import tsx examples/ai-sdk-loop/agent.ts    # prints the curl line that kills it
//
// Environment: OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318), CANOPY_URL (default derived from it),
// CANOPY_API_KEY, LOOP_MAX_STEPS (default 1000). In an app of your own, `npm install <this repo>/sdk`; here
// '@canopy/sdk' maps to sdk/src through tsconfig.json's paths.
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { generateText, stepCountIs, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { z } from 'zod';
import { CanopyStartProcessor, canopy, isKilledError, killSignal } from '@canopy/sdk';

// OpenTelemetry as usual, plus Canopy's processor: every span is also reported when it starts, so the running
// loop is visible (and killable) in Canopy before anything ends.
const apiKey = process.env.CANOPY_API_KEY;
const exporter = () => new OTLPTraceExporter(apiKey ? { headers: { authorization: `Bearer ${apiKey}` } } : {});
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'ai-sdk-loop' }),
  spanProcessors: [new CanopyStartProcessor(exporter()), new BatchSpanProcessor(exporter(), { scheduledDelayMillis: 500 })],
});
provider.register();

const MAX_STEPS = Number(process.env.LOOP_MAX_STEPS ?? 1000);
const MODEL_MS = 150;
const TOOL_MS = 100;
const print = (line: Record<string, unknown>) => console.log(JSON.stringify(line));

/** Waits like a network call would, and gives up the way fetch does: rejecting with the signal's reason. */
function latency(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });
}

let turn = 0;
const model = new MockLanguageModelV3({
  provider: 'openai.chat',
  modelId: 'gpt-4o-mini',
  doGenerate: async ({ abortSignal }) => {
    await latency(MODEL_MS, abortSignal);
    turn++;
    return {
      content: [{ type: 'tool-call', toolCallId: `call_${turn}`, toolName: 'run_tests', input: JSON.stringify({ path: 'src/' }) }],
      finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
      usage: {
        inputTokens: { total: 900 + 60 * turn, noCache: 900 + 60 * turn, cacheRead: 0, cacheWrite: 0 },
        outputTokens: { total: 24, text: 24, reasoning: 0 },
      },
      warnings: [],
    };
  },
});

const runTests = tool({
  description: 'Runs the test suite under a path',
  inputSchema: z.object({ path: z.string() }),
  execute: async ({ path }, { abortSignal }) => {
    await latency(TOOL_MS, abortSignal);
    print({ event: 'step', tool: 'run_tests', turn });
    return `FAILED 1 of 212 tests under ${path}: test_release_notes`;
  },
});

await trace.getTracer('ai-sdk-loop').startActiveSpan(
  'invoke_agent CodingAgent',
  { attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'CodingAgent' } },
  async (span) => {
    const { traceId, spanId } = span.spanContext();
    const kill = `curl -X POST ${canopy().url}/api/traces/${traceId}/kill -H 'content-type: application/json' -d '{"reason":"stuck in a loop"}'`;
    print({ event: 'started', traceId, spanId, kill });
    // One signal for the whole loop: it aborts when this tree, or a branch at or above this span, is killed.
    const signal = killSignal();
    const startedAt = Date.now();
    try {
      const result = await generateText({
        model,
        tools: { run_tests: runTests },
        stopWhen: stepCountIs(MAX_STEPS),
        system: 'You are a coding agent. Make the tests pass.',
        prompt: 'The release is blocked on failing tests. Fix them.',
        abortSignal: signal,
        experimental_telemetry: { isEnabled: true, functionId: 'coding-agent' },
      });
      print({ event: 'finished', steps: result.steps.length });
    } catch (error) {
      // The AI SDK rejects with the signal's reason; other clients (OpenAI's) with their own abort error, so the
      // signal is what to ask.
      if (!signal.aborted || !isKilledError(signal.reason)) throw error;
      const killed = signal.reason;
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'killed' });
      span.setAttribute('error.type', 'killed');
      print({ event: 'killed', scope: killed.scope, reason: killed.reason, killedSpanId: killed.spanId, turns: turn, ranMs: Date.now() - startedAt });
    } finally {
      span.end();
    }
  },
);
await provider.shutdown();
canopy().close();
