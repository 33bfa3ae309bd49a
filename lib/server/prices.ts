// USD prices for model calls: a user price file (CANOPY_PRICES_FILE) first, then the maintained
// @pydantic/genai-prices table. Unknown models price as null, never 0.
//
// Hot path: genai-prices' calcPrice re-matches provider and model names and re-validates its unit
// registry on every call (~10 µs). We resolve each (provider, model) once, memoise the matched price
// entry, and evaluate it here with the library's own rules for the four token counts we carry:
// input includes cache reads/writes; a cache price, when the model has one, applies to those tokens
// and the rest of the input pays the input price; tiers are chosen by total input tokens. Prices with
// date or time-of-day conditions are rare and go back through calcPrice, which knows those rules.
// tests/unit/prices.test.ts checks this against calcPrice over the whole table.
import fs from 'node:fs';
import { calcPrice, findProvider, type ModelPrice, type Provider } from '@pydantic/genai-prices';
import { z } from 'zod';

export interface TokenUsage {
  input: number; // all input tokens, cache reads and writes included
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

export interface PriceBook {
  /**
   * USD for one call, or null when the model is unknown. `at` (ms since epoch or Date) picks the price
   * in force at that moment for models whose price changed or varies by time of day; default now.
   */
  price(model: string, provider: string, usage: TokenUsage, at?: number | Date): number | null;
}

/** Per million tokens, or tiered by total input tokens. */
type Rate = number | { base: number; tiers: { start: number; price: number }[] };

interface Linear {
  kind: 'linear';
  input?: Rate;
  output?: Rate;
  cacheRead?: Rate;
  cacheWrite?: Rate;
  perRequest: number;
  tiered: boolean;
}

interface Conditional {
  kind: 'conditional';
  provider: Provider;
  modelId: string;
}

type Resolved = Linear | Conditional;

const MAX_MEMO = 10_000;

const Rule = z.strictObject({
  match: z.string().min(1),
  provider: z.string().min(1).optional(),
  inputPerMTok: z.number().nonnegative(),
  outputPerMTok: z.number().nonnegative(),
  cacheReadPerMTok: z.number().nonnegative().optional(),
  cacheWritePerMTok: z.number().nonnegative().optional(),
  note: z.string().optional(),
});
const PriceFile = z.strictObject({ models: z.array(Rule) });

interface UserRule {
  test: (model: string) => boolean;
  provider: string; // lowercase, '' = any
  resolved: Linear;
}

export function createPriceBook(opts: { userFile?: string } = {}): PriceBook {
  const rules = opts.userFile ? loadPriceFile(opts.userFile) : [];
  // provider → model → resolution; two levels so the hot path never builds a key string.
  const memo = new Map<string, Map<string, Resolved | null>>();
  let memoSize = 0;

  function lookup(model: string, provider: string): Resolved | null {
    let byModel = memo.get(provider);
    if (byModel) {
      const hit = byModel.get(model);
      if (hit !== undefined) return hit;
    }
    // Model names come from the network; bound the memo rather than let it grow without limit.
    if (memoSize >= MAX_MEMO) {
      memo.clear();
      memoSize = 0;
      byModel = undefined;
    }
    if (!byModel) memo.set(provider, (byModel = new Map()));
    const resolved = resolve(rules, model, provider);
    byModel.set(model, resolved);
    memoSize++;
    return resolved;
  }

  return {
    price(model, provider, usage, at) {
      if (!model) return null;
      const r = lookup(model, provider);
      if (!r) return null;
      const output = count(usage.output);
      const cacheRead = count(usage.cacheRead);
      const cacheWrite = count(usage.cacheWrite);
      let input = count(usage.input);
      // Cache counts above the input count mean input was reported without them (Anthropic-style).
      if (cacheRead + cacheWrite > input) input += cacheRead + cacheWrite;
      if (r.kind === 'conditional') return conditionalPrice(r, input, output, cacheRead, cacheWrite, at);
      const tierBasis = r.tiered ? input : 0;
      let uncached = input;
      let total = r.perRequest;
      if (r.cacheRead !== undefined) {
        uncached -= cacheRead;
        total += cost(r.cacheRead, cacheRead, tierBasis);
      }
      if (r.cacheWrite !== undefined) {
        uncached -= cacheWrite;
        total += cost(r.cacheWrite, cacheWrite, tierBasis);
      }
      if (r.input !== undefined) total += cost(r.input, uncached, tierBasis);
      if (r.output !== undefined) total += cost(r.output, output, tierBasis);
      return total;
    },
  };
}

function count(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}

function cost(rate: Rate, tokens: number, inputTokens: number): number {
  if (tokens <= 0) return 0;
  if (typeof rate === 'number') return (rate * tokens) / 1e6;
  let price = rate.base;
  for (const t of rate.tiers) if (inputTokens > t.start) price = t.price;
  return (price * tokens) / 1e6;
}

function conditionalPrice(
  r: Conditional,
  input: number,
  output: number,
  cacheRead: number,
  cacheWrite: number,
  at: number | Date | undefined,
): number | null {
  try {
    const usage = { input_tokens: input, output_tokens: output, cache_read_tokens: cacheRead, cache_write_tokens: cacheWrite };
    const timestamp = at === undefined ? undefined : at instanceof Date ? at : new Date(at);
    return calcPrice(usage, r.modelId, { provider: r.provider, timestamp })?.total_price ?? null;
  } catch {
    return null; // the table's own validation refused the usage: no trustworthy price
  }
}

function resolve(rules: UserRule[], model: string, provider: string): Resolved | null {
  const lowerProvider = provider.toLowerCase();
  const lowerModel = model.toLowerCase();
  for (const rule of rules) {
    if ((rule.provider === '' || rule.provider === lowerProvider) && rule.test(lowerModel)) return rule.resolved;
  }
  return resolveLibrary(model, provider);
}

function resolveLibrary(model: string, provider: string): Resolved | null {
  const probe = { input_tokens: 1, output_tokens: 1 };
  const attempt = (m: string, providerId: string | undefined) => {
    try {
      return calcPrice(probe, m, providerId ? { providerId } : undefined);
    } catch {
      return null;
    }
  };
  let name = model;
  let hit = provider ? attempt(model, provider) : null;
  // A provider the table does not know (a proxy, a self-hosted gateway, a newer semconv name) says
  // nothing about price, so fall back to matching the model name alone. A known provider without the
  // model stays unpriced: guessing another vendor's price for it would be worse than no price.
  if (!hit && (!provider || !findProvider({ providerId: provider }))) hit = attempt(model, undefined);
  // Router-style names: "anthropic/claude-sonnet-4" → provider anthropic, model claude-sonnet-4.
  const slash = model.lastIndexOf('/');
  if (!hit && slash > 0) {
    name = model.slice(slash + 1);
    hit = attempt(name, model.slice(0, slash).split('/').pop());
  }
  if (!hit) return null;
  if (Array.isArray(hit.model.prices)) {
    // Only this model, so calcPrice does not scan the provider's whole list on each call.
    const only: Provider = { ...hit.provider, models: [hit.model], fallback_model_providers: undefined };
    return { kind: 'conditional', provider: only, modelId: name };
  }
  return linearFrom(hit.model.prices);
}

function linearFrom(p: ModelPrice): Linear {
  const rate = (key: string): Rate | undefined => {
    const v = p[key];
    if (v === undefined) return undefined;
    if (typeof v === 'number') return v;
    return { base: v.base, tiers: [...v.tiers].sort((a, b) => a.start - b.start) };
  };
  const perK = p.requests_kcount;
  const linear: Linear = {
    kind: 'linear',
    input: rate('input_mtok'),
    output: rate('output_mtok'),
    cacheRead: rate('cache_read_mtok'),
    cacheWrite: rate('cache_write_mtok'),
    perRequest: typeof perK === 'number' ? perK / 1000 : 0,
    tiered: false,
  };
  linear.tiered = [linear.input, linear.output, linear.cacheRead, linear.cacheWrite].some((r) => typeof r === 'object');
  return linear;
}

/** Reads and validates a user price file; the error names the file and what is wrong with it. */
function loadPriceFile(file: string): UserRule[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`Cannot read price file ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`Price file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = PriceFile.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; ');
    throw new Error(
      `Price file ${file} is invalid: ${problems}. Expected {"models": [{"match": "model-name or glob*", ` +
        `"provider"?: "...", "inputPerMTok": 1.0, "outputPerMTok": 2.0, "cacheReadPerMTok"?: 0.1, "cacheWritePerMTok"?: 1.25}]}`,
    );
  }
  return parsed.data.models.map((m) => ({
    test: globTest(m.match.toLowerCase()),
    provider: m.provider?.toLowerCase() ?? '',
    resolved: {
      kind: 'linear',
      input: m.inputPerMTok,
      output: m.outputPerMTok,
      cacheRead: m.cacheReadPerMTok,
      cacheWrite: m.cacheWritePerMTok,
      perRequest: 0,
      tiered: false,
    },
  }));
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/** Exact (case-insensitive) match, with `*` matching any run of characters. */
function globTest(pattern: string): (model: string) => boolean {
  if (!pattern.includes('*')) return (model) => model === pattern;
  const re = new RegExp(`^${pattern.split('*').map(escapeRe).join('.*')}$`, 's');
  return (model) => re.test(model);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
