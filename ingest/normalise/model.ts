// Which model and provider a span used. The response model wins: it is what was billed.
import type { Attributes } from '../types';
import { firstString } from './attributes';

const MODEL_KEYS = [
  'gen_ai.response.model',
  'gen_ai.request.model',
  'llm.response.model_name',
  'llm.model_name',
  'llm.request.model_name',
  'embedding.model_name',
  'ai.response.model',
  'ai.model.id',
] as const;

const PROVIDER_KEYS = ['gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system', 'ai.model.provider'] as const;

export function readModel(a: Attributes): string {
  return firstString(a, MODEL_KEYS);
}

/** Lowercase provider name, so one provider groups as one whichever convention named it. */
export function readProvider(a: Attributes): string {
  const p = firstString(a, PROVIDER_KEYS);
  if (p === '') return '';
  // The Vercel AI SDK names provider and API, "openai.chat", in ai.model.provider and copies that
  // into gen_ai.system on classic spans. Other dotted names ("aws.bedrock") are real provider names.
  if (p === a['ai.model.provider']) {
    const dot = p.indexOf('.');
    if (dot > 0) return p.slice(0, dot).toLowerCase();
  }
  return p.toLowerCase();
}
