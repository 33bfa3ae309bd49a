import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { calcPrice, findProvider } from '@pydantic/genai-prices';
import { createPriceBook } from '../../lib/server/prices';

const book = createPriceBook({});
const usage = (input: number, output: number, cacheRead = 0, cacheWrite = 0) => ({ input, output, cacheRead, cacheWrite });
const table = (model: string, providerId: string, u: ReturnType<typeof usage>, timestamp?: Date) =>
  calcPrice({ input_tokens: u.input, output_tokens: u.output, cache_read_tokens: u.cacheRead, cache_write_tokens: u.cacheWrite }, model, { providerId, timestamp })
    ?.total_price ?? null;

describe('the built-in price table (@pydantic/genai-prices)', () => {
  it('prices every model of every major provider exactly as the table does, tiers and dated prices included', () => {
    const providers = ['openai', 'anthropic', 'aws', 'google', 'azure', 'mistral', 'x-ai', 'deepseek', 'groq', 'cohere', 'openrouter', 'together'];
    const usages = [usage(1000, 200), usage(250_000, 1000, 100_000, 20_000), usage(5000, 0, 5000), usage(300_000, 5000, 0, 300_000)];
    const times = [new Date('2025-06-01T03:00:00Z'), new Date('2026-08-25T12:00:00Z')];
    let compared = 0;
    for (const id of providers) {
      for (const m of findProvider({ providerId: id })!.models) {
        for (const u of usages) {
          for (const at of times) {
            const expected = table(m.id, id, u, at);
            const actual = book.price(m.id, id, u, at);
            if (expected === null) expect(actual, `${id}/${m.id}`).toBeNull();
            else expect(actual, `${id}/${m.id} ${JSON.stringify(u)}`).toBeCloseTo(expected, 12);
            compared++;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it('cache reads cost less than fresh input tokens', () => {
    const fresh = book.price('gpt-4o-2024-08-06', 'openai', usage(1_000_000, 0))!;
    const cached = book.price('gpt-4o-2024-08-06', 'openai', usage(1_000_000, 0, 1_000_000))!;
    expect(fresh).toBeCloseTo(2.5, 9);
    expect(cached).toBeCloseTo(1.25, 9);
  });

  it('input reported without its cached part (cache counts above input) is priced as input + cache', () => {
    const reported = book.price('claude-sonnet-4-5', 'anthropic', usage(100, 10, 5000, 300));
    expect(reported).toBeCloseTo(table('claude-sonnet-4-5', 'anthropic', usage(5400, 10, 5000, 300))!, 12);
  });

  it('uses the price in force when the call happened (time-of-day discounts)', () => {
    const u = usage(100_000, 10_000);
    const day = new Date('2026-03-02T12:00:00Z');
    const night = new Date('2026-03-02T20:00:00Z');
    expect(book.price('deepseek-chat', 'deepseek', u, day)).toBeCloseTo(table('deepseek-chat', 'deepseek', u, day)!, 12);
    expect(book.price('deepseek-chat', 'deepseek', u, night.getTime())).toBeCloseTo(table('deepseek-chat', 'deepseek', u, night)!, 12);
    expect(book.price('deepseek-chat', 'deepseek', u, night)).not.toBeCloseTo(book.price('deepseek-chat', 'deepseek', u, day)!, 12);
  });

  it('an unknown model has no price (null), never 0', () => {
    expect(book.price('acme-private-llm-9', 'openai', usage(1000, 100))).toBeNull();
    expect(book.price('acme-private-llm-9', '', usage(1000, 100))).toBeNull();
    expect(book.price('', 'openai', usage(1000, 100))).toBeNull();
  });

  it('understands provider names from every convention', () => {
    const u = usage(10_000, 1000);
    const gemini = table('gemini-2.5-pro', 'google', u)!;
    expect(book.price('gemini-2.5-pro', 'gcp.vertex_ai', u)).toBeCloseTo(gemini, 12);
    expect(book.price('gemini-2.5-pro', 'gcp.gemini', u)).toBeCloseTo(gemini, 12);
    const bedrock = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
    expect(book.price(bedrock, 'aws.bedrock', u)).toBeCloseTo(table(bedrock, 'aws', u)!, 12);
    // A provider name the table does not know: the model name alone decides.
    expect(book.price('grok-4', 'x_ai', u)).toBeCloseTo(table('grok-4', 'x-ai', u)!, 12);
    expect(book.price('gpt-4o', 'my-gateway', u)).toBeCloseTo(table('gpt-4o', 'openai', u)!, 12);
    // Router-style names.
    expect(book.price('anthropic/claude-sonnet-4-5', 'litellm', u)).toBeCloseTo(table('claude-sonnet-4-5', 'anthropic', u)!, 12);
    // A known provider that does not sell the model: unpriced rather than someone else's price.
    expect(book.price('gpt-4o', 'anthropic', u)).toBeNull();
  });
});

describe('a user price file (CANOPY_PRICES_FILE)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canopy-prices-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, content: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };

  it('overrides the table, adds models (with * globs), restricts rules to a provider, prices cache reads', () => {
    const file = write('prices.json', {
      models: [
        { match: 'gpt-4o', inputPerMTok: 1, outputPerMTok: 2, note: 'negotiated discount' },
        { match: 'acme-llm-*', inputPerMTok: 3, outputPerMTok: 6, cacheReadPerMTok: 0.3 },
        { match: 'llama3.1:8b', provider: 'ollama', inputPerMTok: 0, outputPerMTok: 0 },
      ],
    });
    const mine = createPriceBook({ userFile: file });
    expect(mine.price('gpt-4o', 'openai', usage(1_000_000, 1_000_000))).toBeCloseTo(3, 12);
    expect(mine.price('GPT-4o', 'openai', usage(1_000_000, 0))).toBeCloseTo(1, 12);
    expect(mine.price('acme-llm-large-v2', '', usage(1_000_000, 1_000_000, 500_000))).toBeCloseTo(1.5 + 0.15 + 6, 12);
    expect(mine.price('llama3.1:8b', 'ollama', usage(5000, 5000))).toBe(0); // known free, not unpriced
    expect(mine.price('llama3.1:8b', 'groq', usage(5000, 5000))).toBeNull();
    // Models the file does not mention keep their table price.
    expect(mine.price('gpt-4o-mini', 'openai', usage(1000, 100))).toBeCloseTo(table('gpt-4o-mini', 'openai', usage(1000, 100))!, 12);
  });

  it('an invalid file is refused with its path and the problem', () => {
    const cases: [string, unknown, RegExp][] = [
      ['syntax.json', '{"models": [', /is not valid JSON/],
      ['type.json', { models: [{ match: 'm', inputPerMTok: '1', outputPerMTok: 2 }] }, /models\[0\]\.inputPerMTok: .*number/],
      ['typo.json', { models: [{ match: 'm', inputPerMtok: 1, outputPerMTok: 2 }] }, /models\[0\].*inputPerMtok/],
      ['negative.json', { models: [{ match: 'm', inputPerMTok: -1, outputPerMTok: 2 }] }, /models\[0\]\.inputPerMTok/],
      ['shape.json', [{ match: 'm' }], /\(top level\)/],
    ];
    for (const [name, content, problem] of cases) {
      const file = write(name, content);
      expect(() => createPriceBook({ userFile: file }), name).toThrow(file);
      expect(() => createPriceBook({ userFile: file }), name).toThrow(problem);
    }
    const missing = path.join(dir, 'missing.json');
    expect(() => createPriceBook({ userFile: missing })).toThrow(`Cannot read price file ${missing}`);
  });
});
