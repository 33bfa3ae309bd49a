// Whether a stored call signature says anything about sameness. Ingest (ingest/normalise/signature.ts)
// hashes a tool call as tool name + canonical arguments and a model call as model + recorded input; when
// the span recorded no arguments or no input it still hashes *something* (the tool name with empty
// arguments; the model and span name), so three chat calls of one model without captured content share a
// signature. Those are not known to be identical and must never look like a loop: this module recognises
// them by computing, with ingest's own function, the signature such an empty call gets.
import { callSignature } from '../ingest/normalise/signature';
import type { SpanCategory } from '../lib/domain';

// category → name → model → tool name → signature: nested maps, so a lookup hashes the strings the span already
// holds instead of building a key (which cost more than the rest of making a detector span).
const emptyCache = new Map<string, Map<string, Map<string, Map<string, string>>>>();
let cached = 0;
const MAX_CACHE = 10_000;

/** The signature ingest gives a call of this tool / model / name that recorded no arguments or input. */
export function emptyCallSignature(category: SpanCategory, name: string, model: string, toolName: string, agentName: string): string {
  let byName = emptyCache.get(category);
  if (!byName) emptyCache.set(category, (byName = new Map()));
  let byModel = byName.get(name);
  if (!byModel) byName.set(name, (byModel = new Map()));
  let byTool = byModel.get(model);
  if (!byTool) byModel.set(model, (byTool = new Map()));
  let sig = byTool.get(toolName);
  if (sig === undefined) {
    sig = callSignature(category, {}, model, name, toolName, agentName);
    if (++cached > MAX_CACHE) {
      emptyCache.clear();
      cached = 0;
    }
    byTool.set(toolName, sig);
  }
  return sig;
}

/**
 * The signature when it identifies what was called with what; null for spans that are not tool or model
 * calls (agents are compared by name, by the ping-pong rule) and for calls that recorded no content.
 * `recorded`: whether the call recorded its content, when known (ingest knows it for the rows it just made,
 * ingest/types.ts `CALL_CONTENT`); otherwise the signature is compared with the one an empty call gets.
 */
export function comparableSignature(
  signature: string,
  category: SpanCategory,
  name: string,
  model: string,
  toolName: string,
  agentName: string,
  recorded?: boolean,
): string | null {
  if (signature === '') return null;
  if (category !== 'tool' && category !== 'llm' && category !== 'embedding') return null;
  if (recorded !== undefined) return recorded ? signature : null;
  return signature === emptyCallSignature(category, name, model, toolName, agentName) ? null : signature;
}
