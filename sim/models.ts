// The models simulated agents call. Real names (priced by Canopy's price table) plus one model nobody
// prices, because real traffic always contains a fine-tune or a self-hosted model.

import { calcPrice } from '@pydantic/genai-prices';

export interface ModelSpec {
  model: string; // gen_ai.request.model
  responseModel: string; // what the provider answers with (often a dated snapshot)
  provider: string; // gen_ai.provider.name
  server: string; // server.address
  vercelProvider: string; // ai.model.provider as the Vercel AI SDK spells it
}

function spec(model: string, responseModel: string, provider: string, server: string, vercelProvider: string): ModelSpec {
  return { model, responseModel, provider, server, vercelProvider };
}

export const MODELS = {
  gpt4o: spec('gpt-4o', 'gpt-4o-2024-08-06', 'openai', 'api.openai.com', 'openai.chat'),
  gpt4oMini: spec('gpt-4o-mini', 'gpt-4o-mini-2024-07-18', 'openai', 'api.openai.com', 'openai.chat'),
  gpt41: spec('gpt-4.1', 'gpt-4.1-2025-04-14', 'openai', 'api.openai.com', 'openai.chat'),
  gpt41Mini: spec('gpt-4.1-mini', 'gpt-4.1-mini-2025-04-14', 'openai', 'api.openai.com', 'openai.chat'),
  sonnet: spec('claude-sonnet-4-5', 'claude-sonnet-4-5-20250929', 'anthropic', 'api.anthropic.com', 'anthropic.messages'),
  haiku: spec('claude-haiku-4-5', 'claude-haiku-4-5-20251001', 'anthropic', 'api.anthropic.com', 'anthropic.messages'),
  geminiPro: spec('gemini-2.5-pro', 'gemini-2.5-pro', 'gcp.vertex_ai', 'us-central1-aiplatform.googleapis.com', 'google.vertex.chat'),
  geminiFlash: spec('gemini-2.5-flash', 'gemini-2.5-flash', 'gcp.gemini', 'generativelanguage.googleapis.com', 'google.generative-ai'),
  // A self-hosted fine-tune: no price table knows it, so Canopy must show its calls as unpriced.
  unknown: spec('acme-triage-ft-v3', 'acme-triage-ft-v3', 'acme-inference', 'llm.internal.acme.example', 'openai-compatible.chat'),
  embedding: spec('text-embedding-3-small', 'text-embedding-3-small', 'openai', 'api.openai.com', 'openai.embedding'),
} as const satisfies Record<string, ModelSpec>;

/**
 * What one call costs by the public price table, or null when the model is unpriced. Only used to size
 * scenarios (the cost spike must really be 30× its baseline); Canopy computes its own cost.
 */
export function estimateCostUsd(model: ModelSpec, inputTokens: number, outputTokens: number): number | null {
  const result = calcPrice({ input_tokens: inputTokens, output_tokens: outputTokens }, model.responseModel, {
    providerId: model.provider,
  });
  return result ? result.total_price : null;
}
