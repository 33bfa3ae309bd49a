// Values at the extremes for the attributes Canopy interprets (tokens, cost, model, provider, agent, tool,
// session, service): well-formed OTLP that the normaliser, the engine's columns and the read API must survive.
import type { Rng } from './prng';

export const SEMANTIC_KEYS = [
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.cache_read.input_tokens',
  'gen_ai.usage.cache_creation.input_tokens',
  'llm.token_count.prompt',
  'llm.token_count.completion',
  'ai.usage.promptTokens',
  'ai.usage.outputTokens',
  'llm.cost.total',
  'gen_ai.usage.cost',
  'gen_ai.request.model',
  'gen_ai.response.model',
  'llm.model_name',
  'ai.model.id',
  'gen_ai.system',
  'gen_ai.provider.name',
  'llm.provider',
  'gen_ai.operation.name',
  'openinference.span.kind',
  'gen_ai.agent.name',
  'gen_ai.tool.name',
  'gen_ai.tool.call.arguments',
  'session.id',
  'user.id',
  'error.type',
  'exception.type',
  'service.name',
] as const;

export type SemanticValue =
  | { t: 'int'; v: bigint }
  | { t: 'double'; v: number }
  | { t: 'string'; v: string }
  | { t: 'bool'; v: boolean }
  | { t: 'array'; v: SemanticValue[] };

export function semanticValue(rng: Rng): SemanticValue {
  const kind = rng.int(5);
  if (kind === 0) return { t: 'int', v: rng.pick([0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n, 4294967296n, BigInt(rng.u32())]) };
  if (kind === 1) return { t: 'double', v: rng.pick([1e300, 1e308, -1e308, Number.MAX_VALUE, NaN, Infinity, -Infinity, -0, 5e-324, 0.1 + 0.2, 2 ** 64]) };
  if (kind === 2) return { t: 'string', v: rng.pick(['', '1e999', 'Infinity', 'NaN', '-5', '18446744073709551616', '1e300', ' 12 ', 'x'.repeat(rng.pick([300, 5000, 100_000])), '\u0000', '💥\ud800', 'gpt-4o', 'GPT-4O', '*', '%', "'; DROP TABLE spans; --", '{"a":1}']) };
  if (kind === 3) return { t: 'bool', v: rng.chance(0.5) };
  return { t: 'array', v: Array.from({ length: rng.int(4) }, () => semanticValue(rng)).filter((x) => x.t !== 'array') };
}

export function describe(v: SemanticValue): string {
  if (v.t === 'array') return `[${v.v.map(describe).join(',')}]`;
  if (v.t === 'string') return JSON.stringify(v.v.length > 24 ? `${v.v.slice(0, 12)}…(${v.v.length})` : v.v);
  return String(v.v);
}

/** As OTLP/JSON writes it (int64 as a decimal string; non-finite doubles as the strings OTLP/JSON allows). */
export function semanticJson(v: SemanticValue): unknown {
  switch (v.t) {
    case 'int':
      return { intValue: v.v.toString() };
    case 'double':
      return { doubleValue: Number.isFinite(v.v) ? v.v : String(v.v) };
    case 'string':
      return { stringValue: v.v };
    case 'bool':
      return { boolValue: v.v };
    case 'array':
      return { arrayValue: { values: v.v.map(semanticJson) } };
  }
}
