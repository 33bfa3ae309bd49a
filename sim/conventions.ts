// Span shapes as the instrumentations in the wild emit them: OTel GenAI (current and older attribute
// names), OpenInference (Arize/Phoenix) and the classic Vercel AI SDK integration. Canopy has to
// normalise all of them, so the simulator speaks all of them.

import type { ModelSpec } from './models';
import { Kind, type Attrs, type PlanSpan, type ServiceRole, type TreeBuilder } from './plan';
import type { Rng } from './random';

export type Flavour = 'genai' | 'genai_legacy' | 'openinference' | 'vercel';

export const SCOPES = {
  genai: 'canopy-sim.agents',
  genai_legacy: 'opentelemetry.instrumentation.openai',
  openinference: 'openinference.instrumentation.openai',
  vercel: 'ai',
} as const satisfies Record<Flavour, string>;

export interface LlmError {
  statusCode: number;
  errorType: string;
  message: string;
}

export interface LlmSpec {
  model: ModelSpec;
  inputTokens: number;
  outputTokens: number;
  flavour?: Flavour;
  finish?: 'stop' | 'tool_calls' | 'length';
  latencyMs?: number;
  error?: LlmError;
  /** Stable text the call was made with; same prompt → same input hash for Canopy's signature. */
  prompt?: string;
}

export interface ToolSpec {
  name: string;
  args: Record<string, unknown>;
  durationMs?: number;
  result?: string;
  flavour?: Flavour;
  error?: string;
}

/** Realistic model latency: time to first token grows with the prompt, then ~20 ms per output token. */
export function llmLatency(rng: Rng, inputTokens: number, outputTokens: number): number {
  const ttft = rng.around(380, 0.3) + inputTokens * 0.012;
  const decode = outputTokens * rng.around(18, 0.25);
  return Math.round(ttft + decode);
}

/** Tool arguments as the model emits them: JSON with the keys in the order the model wrote them. */
export function argsJson(args: Record<string, unknown>): string {
  return JSON.stringify(args);
}

function responseId(rng: Rng, model: ModelSpec): string {
  if (model.provider === 'anthropic') return `msg_${rng.token(24)}`;
  if (model.provider.startsWith('gcp.')) return rng.token(22);
  return `chatcmpl-${rng.token(29)}`;
}

function toolCallId(rng: Rng, model?: ModelSpec): string {
  return model?.provider === 'anthropic' ? `toolu_${rng.token(24)}` : `call_${rng.token(24)}`;
}

function applyError(b: TreeBuilder, span: PlanSpan, error: LlmError, at: number): void {
  b.fail(span, error.message);
  span.attributes['error.type'] = error.errorType;
  span.attributes['http.response.status_code'] = error.statusCode;
  span.events.push({
    name: 'exception',
    at,
    attributes: { 'exception.type': error.errorType, 'exception.message': error.message },
  });
}

/** One model call; returns the outermost span it created (closed). */
export function llmCall(b: TreeBuilder, parent: PlanSpan, start: number, spec: LlmSpec): PlanSpan {
  const flavour = spec.flavour ?? 'genai';
  const rng = b.rng;
  const failed = spec.error !== undefined;
  const input = spec.inputTokens;
  const output = failed ? 0 : spec.outputTokens;
  const latency = spec.latencyMs ?? (failed ? Math.round(rng.around(140, 0.4)) : llmLatency(rng, input, output));
  const m = spec.model;
  const finish = spec.finish ?? 'stop';
  const prompt = spec.prompt ?? `prompt:${rng.token(12)}`;

  if (flavour === 'openinference') {
    const span = b.open(parent, 'ChatCompletion', start, {
      kind: Kind.INTERNAL,
      scope: SCOPES.openinference,
      attributes: {
        'openinference.span.kind': 'LLM',
        'llm.model_name': m.responseModel,
        'llm.provider': m.provider,
        'llm.system': m.provider,
        'llm.invocation_parameters': JSON.stringify({ model: m.model, temperature: 0.2 }),
        'input.value': JSON.stringify({ messages: [{ role: 'user', content: prompt }] }),
        'input.mime_type': 'application/json',
      },
    });
    if (!failed) {
      Object.assign(span.attributes, {
        'llm.token_count.prompt': input,
        'llm.token_count.completion': output,
        'llm.token_count.total': input + output,
        'output.value': JSON.stringify({ finish_reason: finish }),
        'output.mime_type': 'application/json',
      });
    }
    b.close(span, start + latency);
    if (spec.error) applyError(b, span, spec.error, start + latency);
    else b.recordUsage(span, m, input, output);
    return span;
  }

  if (flavour === 'vercel') {
    const outer = b.open(parent, 'ai.generateText', start, {
      scope: SCOPES.vercel,
      attributes: {
        'operation.name': 'ai.generateText',
        'ai.operationId': 'ai.generateText',
        'ai.model.id': m.model,
        'ai.model.provider': m.vercelProvider,
        'ai.telemetry.functionId': 'agent-step',
        'ai.settings.maxRetries': 2,
        'ai.prompt': JSON.stringify({ prompt }),
      },
    });
    const innerStart = start + rng.int(1, 4);
    const inner = b.open(outer, 'ai.generateText.doGenerate', innerStart, {
      kind: Kind.CLIENT,
      scope: SCOPES.vercel,
      attributes: {
        'operation.name': 'ai.generateText.doGenerate',
        'ai.operationId': 'ai.generateText.doGenerate',
        'ai.model.id': m.model,
        'ai.model.provider': m.vercelProvider,
        'gen_ai.system': m.vercelProvider,
        'gen_ai.request.model': m.model,
      },
    });
    b.close(inner, innerStart + latency);
    b.close(outer, inner.end + rng.int(1, 5));
    if (spec.error) {
      applyError(b, inner, spec.error, inner.end);
      b.fail(outer, spec.error.message);
    } else {
      const usage = {
        'ai.usage.promptTokens': input,
        'ai.usage.completionTokens': output,
        'ai.response.finishReason': finish,
      };
      // The outer span repeats the inner span's usage; Canopy must count those tokens once.
      Object.assign(outer.attributes, usage);
      Object.assign(inner.attributes, usage, {
        'ai.response.model': m.responseModel,
        'ai.response.id': responseId(rng, m),
        'gen_ai.response.model': m.responseModel,
        'gen_ai.usage.input_tokens': input,
        'gen_ai.usage.output_tokens': output,
        'gen_ai.response.finish_reasons': [finish],
      });
      b.recordUsage(inner, m, input, output);
    }
    return outer;
  }

  const legacy = flavour === 'genai_legacy';
  const attributes: Attrs = {
    'gen_ai.operation.name': 'chat',
    [legacy ? 'gen_ai.system' : 'gen_ai.provider.name']: m.provider,
    'gen_ai.request.model': m.model,
    'gen_ai.request.temperature': 0.2,
    'gen_ai.request.max_tokens': 4096,
    'server.address': m.server,
    'server.port': 443,
    // Opt-in content capture: identical prompts give identical call signatures (model + input).
    'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: prompt }] }]),
  };
  if (!failed) {
    Object.assign(attributes, {
      'gen_ai.response.model': m.responseModel,
      'gen_ai.response.id': responseId(rng, m),
      'gen_ai.response.finish_reasons': [finish],
      [legacy ? 'gen_ai.usage.prompt_tokens' : 'gen_ai.usage.input_tokens']: input,
      [legacy ? 'gen_ai.usage.completion_tokens' : 'gen_ai.usage.output_tokens']: output,
    });
  }
  const span = b.open(parent, `chat ${m.model}`, start, {
    kind: Kind.CLIENT,
    scope: legacy ? SCOPES.genai_legacy : SCOPES.genai,
    attributes,
  });
  b.close(span, start + latency);
  if (spec.error) applyError(b, span, spec.error, start + latency);
  else b.recordUsage(span, m, input, output);
  return span;
}

/** An embeddings call (category embedding), as RAG steps make before a vector search. */
export function embeddingCall(b: TreeBuilder, parent: PlanSpan, start: number, model: ModelSpec, inputTokens: number): PlanSpan {
  const span = b.open(parent, `embeddings ${model.model}`, start, {
    kind: Kind.CLIENT,
    scope: SCOPES.genai,
    attributes: {
      'gen_ai.operation.name': 'embeddings',
      'gen_ai.provider.name': model.provider,
      'gen_ai.request.model': model.model,
      'gen_ai.response.model': model.responseModel,
      'gen_ai.usage.input_tokens': inputTokens,
      'server.address': model.server,
    },
  });
  b.recordUsage(span, model, inputTokens, 0);
  return b.close(span, start + Math.round(b.rng.around(120, 0.3)));
}

/** One tool execution; returns the span (closed). */
export function toolCall(b: TreeBuilder, parent: PlanSpan, start: number, spec: ToolSpec, model?: ModelSpec): PlanSpan {
  const flavour = spec.flavour ?? 'genai';
  const rng = b.rng;
  const duration = spec.durationMs ?? Math.round(rng.around(450, 0.6));
  const args = argsJson(spec.args);
  const result = spec.result ?? `ok (${rng.int(1, 40)} results)`;
  const callId = toolCallId(rng, model);
  let span: PlanSpan;
  if (flavour === 'openinference') {
    span = b.open(parent, spec.name, start, {
      scope: SCOPES.openinference,
      attributes: {
        'openinference.span.kind': 'TOOL',
        'tool.name': spec.name,
        'tool.parameters': args,
        'input.value': args,
        'input.mime_type': 'application/json',
        'output.value': result,
      },
    });
  } else if (flavour === 'vercel') {
    span = b.open(parent, 'ai.toolCall', start, {
      scope: SCOPES.vercel,
      attributes: {
        'operation.name': 'ai.toolCall',
        'ai.operationId': 'ai.toolCall',
        'ai.toolCall.name': spec.name,
        'ai.toolCall.id': callId,
        'ai.toolCall.args': args,
        'ai.toolCall.result': result,
      },
    });
  } else {
    span = b.open(parent, `execute_tool ${spec.name}`, start, {
      scope: flavour === 'genai_legacy' ? SCOPES.genai_legacy : SCOPES.genai,
      attributes: {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': spec.name,
        'gen_ai.tool.type': 'function',
        // The call id differs on every call: a loop detector must leave it out of the signature.
        'gen_ai.tool.call.id': callId,
        'gen_ai.tool.call.arguments': args,
        'gen_ai.tool.call.result': result,
      },
    });
  }
  b.close(span, start + duration);
  if (spec.error) {
    b.fail(span, spec.error);
    span.attributes['error.type'] = 'ToolError';
  }
  return span;
}

export interface AgentInit {
  name: string;
  flavour?: Flavour;
  service?: ServiceRole;
  conversationId?: string;
  description?: string;
}

/** An agent invocation span, left open: the caller adds the agent's steps and closes it. */
export function agentSpan(b: TreeBuilder, parent: PlanSpan | null, start: number, init: AgentInit): PlanSpan {
  const flavour = init.flavour ?? 'genai';
  const remote = parent !== null && init.service !== undefined && init.service !== parent.service;
  if (flavour === 'openinference') {
    return b.open(parent, init.name, start, {
      kind: remote ? Kind.SERVER : Kind.INTERNAL,
      scope: SCOPES.openinference,
      service: init.service,
      attributes: {
        'openinference.span.kind': 'AGENT',
        'agent.name': init.name,
        'input.value': init.description ?? `task for ${init.name}`,
        ...(init.conversationId ? { 'session.id': init.conversationId } : {}),
      },
    });
  }
  // Vercel AI SDK has no agent span of its own: apps wrap their generateText loops in one (GenAI style).
  return b.open(parent, `invoke_agent ${init.name}`, start, {
    kind: remote ? Kind.SERVER : Kind.INTERNAL,
    scope: SCOPES.genai,
    service: init.service,
    attributes: {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': init.name,
      'gen_ai.agent.id': `agent_${init.name.toLowerCase()}`,
      ...(init.description ? { 'gen_ai.agent.description': init.description } : {}),
      ...(init.conversationId ? { 'gen_ai.conversation.id': init.conversationId } : {}),
    },
  });
}

/** The Vercel AI SDK's outer `ai.generateText` span that wraps a multi-step tool loop. */
export function vercelLoopSpan(b: TreeBuilder, parent: PlanSpan, start: number, model: ModelSpec): PlanSpan {
  return b.open(parent, 'ai.generateText', start, {
    scope: SCOPES.vercel,
    attributes: {
      'operation.name': 'ai.generateText',
      'ai.operationId': 'ai.generateText',
      'ai.model.id': model.model,
      'ai.model.provider': model.vercelProvider,
      'ai.telemetry.functionId': 'agent-loop',
      'ai.settings.maxSteps': 5,
    },
  });
}

/** A Vercel step's inner model call (`doGenerate`), placed directly under the loop span. */
export function vercelStep(
  b: TreeBuilder,
  loop: PlanSpan,
  start: number,
  model: ModelSpec,
  inputTokens: number,
  outputTokens: number,
  finish: 'stop' | 'tool_calls',
): PlanSpan {
  const rng = b.rng;
  const span = b.open(loop, 'ai.generateText.doGenerate', start, {
    kind: Kind.CLIENT,
    scope: SCOPES.vercel,
    attributes: {
      'operation.name': 'ai.generateText.doGenerate',
      'ai.operationId': 'ai.generateText.doGenerate',
      'ai.model.id': model.model,
      'ai.model.provider': model.vercelProvider,
      'ai.usage.promptTokens': inputTokens,
      'ai.usage.completionTokens': outputTokens,
      'ai.response.finishReason': finish,
      'ai.response.model': model.responseModel,
      'ai.response.id': responseId(rng, model),
      'gen_ai.system': model.vercelProvider,
      'gen_ai.request.model': model.model,
      'gen_ai.response.model': model.responseModel,
      'gen_ai.usage.input_tokens': inputTokens,
      'gen_ai.usage.output_tokens': outputTokens,
      'gen_ai.response.finish_reasons': [finish],
    },
  });
  b.recordUsage(span, model, inputTokens, outputTokens);
  return b.close(span, start + llmLatency(rng, inputTokens, outputTokens));
}

/** Sums usage onto a Vercel loop span once its steps are planned, as the SDK reports it. */
export function vercelLoopUsage(b: TreeBuilder, loop: PlanSpan): void {
  let input = 0;
  let output = 0;
  for (const span of b.spans) {
    if (span.parent !== loop.index || span.name !== 'ai.generateText.doGenerate') continue;
    input += Number(span.attributes['ai.usage.promptTokens'] ?? 0);
    output += Number(span.attributes['ai.usage.completionTokens'] ?? 0);
  }
  loop.attributes['ai.usage.promptTokens'] = input;
  loop.attributes['ai.usage.completionTokens'] = output;
}
