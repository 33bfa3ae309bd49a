// What kind of step a span is. The first convention that says so wins: OTel gen_ai, OpenInference,
// OpenLLMetry, the Vercel AI SDK's classic spans, then plain evidence (model + tokens, a tool name).
import type { Attributes, SpanCategory } from '../types';
import { isModelCallCategory } from '../../lib/domain';
import { lowerString } from './attributes';

const GEN_AI_OPERATIONS = new Map<string, SpanCategory>([
  ['chat', 'llm'],
  ['generate_content', 'llm'],
  ['text_completion', 'llm'],
  ['embeddings', 'embedding'],
  ['execute_tool', 'tool'],
  ['invoke_agent', 'agent'],
  ['create_agent', 'agent'],
  ['retrieval', 'retriever'],
  ['rerank', 'retriever'],
  ['invoke_workflow', 'chain'],
  ['plan', 'chain'],
  ['agent_step', 'chain'], // Vercel AI SDK step spans
]);

const OPENINFERENCE_KINDS = new Map<string, SpanCategory>([
  ['llm', 'llm'],
  ['embedding', 'embedding'],
  ['tool', 'tool'],
  ['agent', 'agent'],
  ['retriever', 'retriever'],
  ['reranker', 'retriever'],
  ['chain', 'chain'],
  ['guardrail', 'other'],
  ['evaluator', 'other'],
  ['prompt', 'other'],
]);

const TRACELOOP_KINDS = new Map<string, SpanCategory>([
  ['workflow', 'chain'],
  ['task', 'chain'],
  ['agent', 'agent'],
  ['tool', 'tool'],
]);

const LLM_REQUEST_TYPES = new Map<string, SpanCategory>([
  ['chat', 'llm'],
  ['completion', 'llm'],
  ['embedding', 'embedding'],
  ['rerank', 'retriever'],
]);

/**
 * Vercel AI SDK outer spans (ai.generateText, ai.streamText, ...) repeat the usage of the model calls
 * they wrap, so they are chains, not model calls: their tokens must not count twice.
 */
const VERCEL_WRAPPERS = new Set([
  'ai.generateText',
  'ai.streamText',
  'ai.generateObject',
  'ai.streamObject',
  'ai.embed',
  'ai.embedMany',
  'ai.rerank',
]);

const TOOL_NAME_KEYS = ['gen_ai.tool.name', 'tool.name', 'ai.toolCall.name'] as const;

export function categorise(name: string, a: Attributes, model: string, hasTokens: boolean): SpanCategory {
  // Maps, not object literals: these are indexed by strings from the wire ("constructor", ...).
  let c = GEN_AI_OPERATIONS.get(lowerString(a, 'gen_ai.operation.name'));
  if (c) return c;
  c = OPENINFERENCE_KINDS.get(lowerString(a, 'openinference.span.kind'));
  if (c) return c;
  c = TRACELOOP_KINDS.get(lowerString(a, 'traceloop.span.kind'));
  if (c) return c;
  c = LLM_REQUEST_TYPES.get(lowerString(a, 'llm.request.type'));
  if (c) return c;
  const op = vercelOperation(name, a);
  if (op) {
    if (op.endsWith('.doGenerate') || op.endsWith('.doStream')) return 'llm';
    if (op.endsWith('.doEmbed')) return 'embedding';
    if (op === 'ai.toolCall') return 'tool';
    if (VERCEL_WRAPPERS.has(op)) return 'chain';
  }
  if (model !== '' && hasTokens) return 'llm';
  for (let i = 0; i < TOOL_NAME_KEYS.length; i++) if (typeof a[TOOL_NAME_KEYS[i]] === 'string') return 'tool';
  return 'other';
}

/** Spans whose own tokens are a model call's usage and count once in rollups. */
export function countsUsage(category: SpanCategory): 0 | 1 {
  return isModelCallCategory(category) ? 1 : 0;
}

function vercelOperation(name: string, a: Attributes): string {
  const id = a['ai.operationId'];
  if (typeof id === 'string') return id;
  return name.startsWith('ai.') ? name : '';
}
