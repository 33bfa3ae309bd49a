// Token counts and explicit cost, whichever convention reported them.
import type { TokenUsage } from '../../lib/server/prices';
import type { Attributes } from '../types';
import { firstAmount, firstCount } from './attributes';
import { MAX_COST_USD, MAX_TOKENS } from './limits';

const INPUT_KEYS = [
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.prompt_tokens',
  'llm.token_count.prompt',
  'ai.usage.inputTokens',
  'ai.usage.promptTokens',
  'ai.usage.tokens', // Vercel embeddings
] as const;

const OUTPUT_KEYS = [
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.completion_tokens',
  'llm.token_count.completion',
  'ai.usage.outputTokens',
  'ai.usage.completionTokens',
] as const;

const CACHE_READ_KEYS = [
  'gen_ai.usage.cache_read.input_tokens',
  'gen_ai.usage.cache_read_input_tokens',
  'llm.token_count.prompt_details.cache_read',
  'ai.usage.inputTokenDetails.cacheReadTokens',
  'ai.usage.cachedInputTokens',
] as const;

const CACHE_WRITE_KEYS = [
  'gen_ai.usage.cache_creation.input_tokens',
  'gen_ai.usage.cache_creation_input_tokens',
  'llm.token_count.prompt_details.cache_write',
  'ai.usage.inputTokenDetails.cacheWriteTokens',
] as const;

/** Explicit USD cost reported by the instrumentation; it wins over the price table. */
const COST_KEYS = ['llm.cost.total', 'gen_ai.usage.cost', 'gen_ai.usage.cost_usd'] as const;

/**
 * Token usage with input counting every input token, cached ones included (the OTel convention).
 * Some instrumentations report input without the cached part, Anthropic-style; when the cache counts
 * exceed the input count that must be the case, and they are added back.
 */
export function readUsage(a: Attributes): TokenUsage {
  let input = Math.max(0, firstCount(a, INPUT_KEYS));
  const cacheRead = Math.max(0, firstCount(a, CACHE_READ_KEYS));
  const cacheWrite = Math.max(0, firstCount(a, CACHE_WRITE_KEYS));
  if (cacheRead + cacheWrite > input) input = Math.min(MAX_TOKENS, input + cacheRead + cacheWrite);
  return { input, output: Math.max(0, firstCount(a, OUTPUT_KEYS)), cacheRead, cacheWrite };
}

/** The explicit cost in USD, or -1 when the span reports none or more than MAX_COST_USD (then the table prices it). */
export function readExplicitCost(a: Attributes): number {
  const cost = firstAmount(a, COST_KEYS);
  return cost <= MAX_COST_USD ? cost : -1;
}
