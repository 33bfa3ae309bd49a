import { describe, expect, it } from 'vitest';
import { SpanStatusCode, type Span } from '@opentelemetry/api';
import { calcPrice } from '@pydantic/genai-prices';
import { normaliseRequest } from '../../ingest/normalise/index';
import { MAX_VALUE_CHARS } from '../../ingest/normalise/attributes';
import { DROPPED_ATTRIBUTES_KEY, MAX_ATTRIBUTES, MAX_COST_USD, MAX_NAME_CHARS, MAX_TOKENS } from '../../ingest/normalise/limits';
import type { DecodedRequest, SpanRow } from '../../ingest/types';
import { defaultPrices, recorder, rowOf, rowsFor, start } from './otlp-fixtures';

const listPrice = (model: string, providerId: string, input: number, output: number, cacheRead = 0, cacheWrite = 0) =>
  calcPrice({ input_tokens: input, output_tokens: output, cache_read_tokens: cacheRead, cache_write_tokens: cacheWrite }, model, { providerId })!.total_price;

/** What rollups add up: only spans that are themselves model calls. */
function counted(rows: SpanRow[]) {
  const calls = rows.filter((r) => r.counts_usage === 1);
  return {
    input: calls.reduce((n, r) => n + r.input_tokens, 0),
    output: calls.reduce((n, r) => n + r.output_tokens, 0),
    cost: calls.reduce((n, r) => n + (r.cost_usd ?? 0), 0),
  };
}

describe('OTel gen_ai conventions (current names)', () => {
  it('a chat call: model from the response, provider, tokens incl. cache, priced from the table, counted', () => {
    const row = rowOf('chat claude-sonnet-4-5', {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-4-5',
      'gen_ai.response.model': 'claude-sonnet-4-5-20250929',
      'gen_ai.usage.input_tokens': 2095,
      'gen_ai.usage.output_tokens': 503,
      'gen_ai.usage.cache_creation.input_tokens': 2048,
      'gen_ai.usage.cache_read.input_tokens': 0,
      'gen_ai.conversation.id': 'conv-42',
      'gen_ai.agent.name': 'Researcher',
    });
    expect(row).toMatchObject({
      category: 'llm',
      counts_usage: 1,
      model: 'claude-sonnet-4-5-20250929',
      provider: 'anthropic',
      input_tokens: 2095,
      output_tokens: 503,
      cache_write_tokens: 2048,
      cache_read_tokens: 0,
      session_id: 'conv-42',
      agent_name: 'Researcher',
      tool_name: '',
    });
    expect(row.cost_usd).toBeCloseTo(listPrice('claude-sonnet-4-5-20250929', 'anthropic', 2095, 503, 0, 2048), 12);
    expect(row.call_signature).toMatch(/^[0-9a-f]{16}$/);
  });

  it('tool, agent, embeddings, retrieval and workflow spans', () => {
    expect(rowOf('execute_tool web_search', { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'web_search' })).toMatchObject({
      category: 'tool',
      tool_name: 'web_search',
      counts_usage: 0,
      cost_usd: null,
    });
    expect(rowOf('invoke_agent Planner', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Planner' })).toMatchObject({
      category: 'agent',
      agent_name: 'Planner',
      counts_usage: 0,
    });
    // The agent name is taken from the span name when the attribute is missing.
    expect(rowOf('invoke_agent Critic', { 'gen_ai.operation.name': 'invoke_agent' }).agent_name).toBe('Critic');
    const embed = rowOf('embeddings text-embedding-3-small', {
      'gen_ai.operation.name': 'embeddings',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'text-embedding-3-small',
      'gen_ai.usage.input_tokens': 8000,
    });
    expect(embed).toMatchObject({ category: 'embedding', counts_usage: 1, input_tokens: 8000 });
    expect(embed.cost_usd).toBeCloseTo(listPrice('text-embedding-3-small', 'openai', 8000, 0), 12);
    expect(rowOf('retrieval docs', { 'gen_ai.operation.name': 'retrieval' }).category).toBe('retriever');
    expect(rowOf('invoke_workflow triage', { 'gen_ai.operation.name': 'invoke_workflow' }).category).toBe('chain');
  });
});

describe('OTel gen_ai conventions (older names)', () => {
  it('gen_ai.system and prompt/completion tokens; model + tokens alone make a model call', () => {
    const row = rowOf('openai.chat', {
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.prompt_tokens': 1000,
      'gen_ai.usage.completion_tokens': 100,
    });
    expect(row).toMatchObject({ category: 'llm', counts_usage: 1, provider: 'openai', model: 'gpt-4o-mini', input_tokens: 1000, output_tokens: 100 });
    expect(row.cost_usd).toBeCloseTo(listPrice('gpt-4o-mini', 'openai', 1000, 100), 12);
  });
});

describe('OpenInference (Arize Phoenix)', () => {
  const llm = {
    'openinference.span.kind': 'LLM',
    'llm.model_name': 'gpt-4o-2024-08-06',
    'llm.provider': 'openai',
    'llm.system': 'openai',
    'llm.token_count.prompt': 5000,
    'llm.token_count.completion': 250,
    'llm.token_count.total': 5250,
    'llm.token_count.prompt_details.cache_read': 4000,
    'llm.input_messages.0.message.role': 'system',
    'llm.input_messages.0.message.content': 'You are terse.',
    'llm.input_messages.1.message.role': 'user',
    'llm.input_messages.1.message.content': 'What is 2+2?',
    'session.id': 'sess-7',
    'user.id': 'user-3',
  };

  it('an LLM span, with cache reads priced as cache reads', () => {
    const row = rowOf('ChatOpenAI', llm);
    expect(row).toMatchObject({
      category: 'llm',
      counts_usage: 1,
      model: 'gpt-4o-2024-08-06',
      provider: 'openai',
      input_tokens: 5000,
      output_tokens: 250,
      cache_read_tokens: 4000,
      session_id: 'sess-7',
      user_id: 'user-3',
    });
    expect(row.cost_usd).toBeCloseTo(listPrice('gpt-4o-2024-08-06', 'openai', 5000, 250, 4000), 12);
    expect(row.cost_usd!).toBeLessThan(listPrice('gpt-4o-2024-08-06', 'openai', 5000, 250));
  });

  it('an explicit llm.cost.total wins over the price table, even for a model the table lacks', () => {
    expect(rowOf('ChatOpenAI', { ...llm, 'llm.cost.total': 0.0123 }).cost_usd).toBe(0.0123);
    expect(rowOf('x', { ...llm, 'llm.model_name': 'in-house-model-v2', 'llm.cost.total': 0.5 }).cost_usd).toBe(0.5);
    expect(rowOf('x', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.cost': 0.25 }).cost_usd).toBe(0.25);
  });

  it('the input messages decide the call signature', () => {
    const a = rowOf('ChatOpenAI', llm).call_signature;
    expect(rowOf('ChatOpenAI', { ...llm, 'llm.token_count.completion': 9 }).call_signature).toBe(a);
    expect(rowOf('ChatOpenAI', { ...llm, 'llm.input_messages.1.message.content': 'What is 3+3?' }).call_signature).not.toBe(a);
  });

  it('TOOL, AGENT, CHAIN, RETRIEVER, RERANKER, EMBEDDING, GUARDRAIL kinds', () => {
    expect(rowOf('lookup', { 'openinference.span.kind': 'TOOL', 'tool.name': 'lookup_order', 'input.value': '{"order": 1}' })).toMatchObject({
      category: 'tool',
      tool_name: 'lookup_order',
    });
    expect(rowOf('Support Agent', { 'openinference.span.kind': 'AGENT' })).toMatchObject({ category: 'agent', agent_name: 'Support Agent' });
    expect(rowOf('x', { 'openinference.span.kind': 'AGENT', 'agent.name': 'triage' }).agent_name).toBe('triage');
    expect(rowOf('RunnableSequence', { 'openinference.span.kind': 'CHAIN' }).category).toBe('chain');
    expect(rowOf('VectorStoreRetriever', { 'openinference.span.kind': 'RETRIEVER' }).category).toBe('retriever');
    expect(rowOf('CohereRerank', { 'openinference.span.kind': 'RERANKER' }).category).toBe('retriever');
    expect(rowOf('Guard', { 'openinference.span.kind': 'GUARDRAIL', 'llm.model_name': 'gpt-4o', 'llm.token_count.prompt': 5 }).counts_usage).toBe(0);
    const embed = rowOf('OpenAIEmbeddings', {
      'openinference.span.kind': 'EMBEDDING',
      'embedding.model_name': 'text-embedding-3-large',
      'llm.token_count.prompt': 120,
    });
    expect(embed).toMatchObject({ category: 'embedding', model: 'text-embedding-3-large', counts_usage: 1 });
  });
});

describe('OpenLLMetry (Traceloop)', () => {
  it('workflow, task, agent and tool spans from the decorators', () => {
    expect(rowOf('plan_trip.workflow', { 'traceloop.span.kind': 'workflow', 'traceloop.entity.name': 'plan_trip' }).category).toBe('chain');
    expect(rowOf('summarise.task', { 'traceloop.span.kind': 'task', 'traceloop.entity.name': 'summarise' }).category).toBe('chain');
    expect(rowOf('researcher.agent', { 'traceloop.span.kind': 'agent', 'traceloop.entity.name': 'researcher' })).toMatchObject({
      category: 'agent',
      agent_name: 'researcher',
    });
    expect(rowOf('search.tool', { 'traceloop.span.kind': 'tool', 'traceloop.entity.name': 'search', 'traceloop.entity.input': '{"q":"x"}' })).toMatchObject({
      category: 'tool',
      tool_name: 'search',
    });
  });

  it('an LLM span: llm.request.type, capitalised gen_ai.system, indexed prompts, cache reads', () => {
    const attrs = {
      'llm.request.type': 'chat',
      'gen_ai.system': 'OpenAI',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.usage.prompt_tokens': 300,
      'gen_ai.usage.completion_tokens': 40,
      'gen_ai.usage.cache_read_input_tokens': 100,
      'llm.usage.total_tokens': 340,
      'gen_ai.prompt.0.role': 'user',
      'gen_ai.prompt.0.content': 'hello',
      'traceloop.association.properties.session_id': 's-1',
    };
    const row = rowOf('openai.chat', attrs);
    expect(row).toMatchObject({ category: 'llm', provider: 'openai', input_tokens: 300, output_tokens: 40, cache_read_tokens: 100, session_id: 's-1' });
    expect(row.cost_usd).toBeCloseTo(listPrice('gpt-4o-mini-2024-07-18', 'openai', 300, 40, 100), 12);
    expect(rowOf('openai.chat', { ...attrs, 'gen_ai.prompt.0.content': 'bye' }).call_signature).not.toBe(row.call_signature);
  });
});

describe('Vercel AI SDK', () => {
  it('classic spans: the ai.generateText wrapper repeats its model calls’ usage, which counts once', () => {
    const r = recorder();
    const common = { 'ai.model.id': 'gpt-4o', 'ai.model.provider': 'openai.chat', 'ai.telemetry.functionId': 'weather-bot', 'ai.telemetry.metadata.sessionId': 'chat-9' };
    const outer = start(r.tracer, {
      name: 'ai.generateText',
      attributes: {
        ...common,
        'ai.operationId': 'ai.generateText',
        'operation.name': 'ai.generateText weather-bot',
        'ai.prompt': '{"prompt":"Weather in Paris?"}',
        'ai.usage.promptTokens': 250,
        'ai.usage.completionTokens': 60,
      },
    });
    const step = (usage: [number, number], parent: Span) =>
      start(r.tracer, {
        name: 'ai.generateText.doGenerate',
        parent,
        attributes: {
          ...common,
          'ai.operationId': 'ai.generateText.doGenerate',
          'ai.prompt.messages': '[{"role":"user","content":[{"type":"text","text":"Weather in Paris?"}]}]',
          'ai.usage.promptTokens': usage[0],
          'ai.usage.completionTokens': usage[1],
          'gen_ai.system': 'openai.chat',
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.response.model': 'gpt-4o-2024-08-06',
          'gen_ai.usage.input_tokens': usage[0],
          'gen_ai.usage.output_tokens': usage[1],
        },
      });
    step([100, 20], outer).end();
    start(r.tracer, {
      name: 'ai.toolCall',
      parent: outer,
      attributes: { 'ai.operationId': 'ai.toolCall', 'ai.toolCall.name': 'getWeather', 'ai.toolCall.id': 'call_1', 'ai.toolCall.args': '{"city":"Paris"}' },
    }).end();
    step([150, 40], outer).end();
    outer.end();
    const rows = rowsFor(r.spans());
    const byName = (n: string) => rows.filter((x) => x.name === n);
    expect(byName('ai.generateText')[0]).toMatchObject({ category: 'chain', counts_usage: 0, input_tokens: 250, output_tokens: 60, provider: 'openai', session_id: 'chat-9' });
    expect(byName('ai.generateText.doGenerate').map((x) => [x.category, x.counts_usage, x.provider, x.model])).toEqual([
      ['llm', 1, 'openai', 'gpt-4o-2024-08-06'],
      ['llm', 1, 'openai', 'gpt-4o-2024-08-06'],
    ]);
    expect(byName('ai.toolCall')[0]).toMatchObject({ category: 'tool', tool_name: 'getWeather', counts_usage: 0 });
    const total = counted(rows);
    expect([total.input, total.output]).toEqual([250, 60]);
    expect(total.cost).toBeCloseTo(listPrice('gpt-4o-2024-08-06', 'openai', 100, 20) + listPrice('gpt-4o-2024-08-06', 'openai', 150, 40), 12);
  });

  it('classic streamText (v5 token names) and embed spans', () => {
    const r = recorder();
    const outer = start(r.tracer, { name: 'ai.streamText', attributes: { 'ai.operationId': 'ai.streamText', 'ai.model.id': 'gpt-4o-mini', 'ai.usage.inputTokens': 80, 'ai.usage.outputTokens': 8 } });
    start(r.tracer, {
      name: 'ai.streamText.doStream',
      parent: outer,
      attributes: { 'ai.operationId': 'ai.streamText.doStream', 'ai.model.id': 'gpt-4o-mini', 'ai.model.provider': 'openai.responses', 'ai.usage.inputTokens': 80, 'ai.usage.outputTokens': 8, 'ai.usage.cachedInputTokens': 64 },
    }).end();
    outer.end();
    const embed = start(r.tracer, { name: 'ai.embedMany', attributes: { 'ai.operationId': 'ai.embedMany', 'ai.model.id': 'text-embedding-3-small', 'ai.usage.tokens': 30 } });
    start(r.tracer, { name: 'ai.embedMany.doEmbed', parent: embed, attributes: { 'ai.operationId': 'ai.embedMany.doEmbed', 'ai.model.id': 'text-embedding-3-small', 'ai.usage.tokens': 30 } }).end();
    embed.end();
    const rows = rowsFor(r.spans());
    expect(rows.map((x) => [x.name, x.category, x.counts_usage])).toEqual([
      ['ai.streamText.doStream', 'llm', 1],
      ['ai.streamText', 'chain', 0],
      ['ai.embedMany.doEmbed', 'embedding', 1],
      ['ai.embedMany', 'chain', 0],
    ]);
    expect(rows[0]).toMatchObject({ provider: 'openai', cache_read_tokens: 64 });
    expect(counted(rows)).toMatchObject({ input: 110, output: 8 });
  });

  it('new gen_ai spans (@ai-sdk/otel): invoke_agent root and agent_step spans do not count, chat spans do', () => {
    const r = recorder();
    const root = start(r.tracer, {
      name: 'invoke_agent gpt-4o',
      attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 300, 'gen_ai.usage.output_tokens': 50 },
    });
    for (const [i, o] of [[100, 20], [200, 30]]) {
      const step = start(r.tracer, { name: 'step', parent: root, attributes: { 'gen_ai.operation.name': 'agent_step' } });
      start(r.tracer, {
        name: 'chat gpt-4o',
        parent: step,
        attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': i, 'gen_ai.usage.output_tokens': o },
      }).end();
      step.end();
    }
    root.end();
    const rows = rowsFor(r.spans());
    const rootRow = rows.find((x) => x.name === 'invoke_agent gpt-4o')!;
    expect(rootRow).toMatchObject({ category: 'agent', counts_usage: 0, agent_name: '' }); // the span name carries the model, not an agent
    expect(rows.filter((x) => x.name === 'step').every((x) => x.category === 'chain' && x.counts_usage === 0)).toBe(true);
    expect(counted(rows)).toMatchObject({ input: 300, output: 50 });
  });
});

describe('prices', () => {
  it('an unknown model is unpriced (null), never 0, but still a counted model call', () => {
    const row = rowOf('chat my-finetune', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'acme-private-llm-9', 'gen_ai.usage.input_tokens': 10 });
    expect(row).toMatchObject({ category: 'llm', counts_usage: 1, cost_usd: null });
  });

  it('a known model with no tokens costs 0; spans that are not model calls carry no cost', () => {
    expect(rowOf('chat', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o' }).cost_usd).toBe(0);
    expect(rowOf('work', { foo: 'bar' })).toMatchObject({ category: 'other', cost_usd: null, counts_usage: 0, call_signature: '' });
  });
});

describe('call signatures (loop detection)', () => {
  const tool = (args: string, name = 'search') => rowOf(`execute_tool ${name}`, { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name, 'gen_ai.tool.call.arguments': args }).call_signature;

  it('the same tool with the same arguments has one signature, whatever the key order or per-call ids', () => {
    const a = tool('{"query":"paris weather","limit":5}');
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(tool('{"limit":5, "query":"paris weather", "request_id":"r-991", "timestamp":"2026-01-01T00:00:00Z"}')).toBe(a);
    expect(tool('{"limit":5,"query":"paris weather","id":"call_9f8e7d6c5b4a3f2e1d"}')).toBe(a);
  });

  it('different arguments, a different tool, or a business id give different signatures', () => {
    const a = tool('{"query":"paris weather","limit":5}');
    expect(tool('{"query":"rome weather","limit":5}')).not.toBe(a);
    expect(tool('{"query":"paris weather","limit":5}', 'lookup')).not.toBe(a);
    expect(tool('{"id":41}', 'get_order')).not.toBe(tool('{"id":42}', 'get_order'));
    expect(tool('not json at all')).not.toBe(tool('not json either'));
  });

  it('Vercel tool args and OpenInference input.value are used the same way', () => {
    const v = rowOf('ai.toolCall', { 'ai.toolCall.name': 'search', 'ai.toolCall.args': '{"b":2,"a":1}' }).call_signature;
    expect(rowOf('ai.toolCall', { 'ai.toolCall.name': 'search', 'ai.toolCall.args': '{"a":1,"b":2}' }).call_signature).toBe(v);
    const oi = rowOf('search', { 'openinference.span.kind': 'TOOL', 'tool.name': 'search', 'input.value': '{"a":1,"b":2}' }).call_signature;
    expect(oi).toBe(v);
  });

  it('model calls: same model + same input match; without recorded input, model + span name', () => {
    const call = (model: string, input?: string) =>
      rowOf('chat', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': model, ...(input ? { 'gen_ai.input.messages': input } : {}) }).call_signature;
    expect(call('gpt-4o', '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]')).toBe(call('gpt-4o', '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]'));
    expect(call('gpt-4o', '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]')).not.toBe(call('gpt-4o', '[{"role":"user","parts":[{"type":"text","content":"yo"}]}]'));
    expect(call('gpt-4o')).toBe(call('gpt-4o'));
    expect(call('gpt-4o')).not.toBe(call('gpt-4o-mini'));
  });

  it('agents are identified by name', () => {
    const agent = (n: string) => rowOf(`invoke_agent ${n}`, { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': n }).call_signature;
    expect(agent('Planner')).toBe(agent('Planner'));
    expect(agent('Planner')).not.toBe(agent('Critic'));
  });
});

describe('errors', () => {
  function errorRow(setup: (s: Span) => void, attributes: Record<string, string | number> = {}) {
    const r = recorder();
    const s = start(r.tracer, { name: 'op', attributes });
    setup(s);
    s.end();
    return rowsFor(r.spans())[0];
  }

  it('status ERROR with an exception event: type and message come from the exception', () => {
    const row = errorRow((s) => {
      s.recordException(new TypeError('Cannot read properties of undefined'));
      s.setStatus({ code: SpanStatusCode.ERROR });
    });
    expect(row).toMatchObject({ status: 'error', error_type: 'TypeError', status_message: 'Cannot read properties of undefined' });
    expect(row.attributes['exception.stacktrace']).toContain('TypeError: Cannot read properties of undefined');
  });

  it('error.type wins and marks an unset status as an error unless HTTP says it succeeded', () => {
    expect(errorRow(() => {}, { 'error.type': 'rate_limit_exceeded', 'http.response.status_code': 429 })).toMatchObject({ status: 'error', error_type: 'rate_limit_exceeded' });
    expect(errorRow(() => {}, { 'error.type': 'timeout' })).toMatchObject({ status: 'error', error_type: 'timeout' });
    expect(errorRow(() => {}, { 'error.type': 'x', 'http.response.status_code': 200 }).status).toBe('unset');
    expect(errorRow(() => {}, { 'http.response.status_code': 404 })).toMatchObject({ status: 'unset', error_type: '' });
    expect(errorRow((s) => s.setStatus({ code: SpanStatusCode.OK }))).toMatchObject({ status: 'ok', error_type: '', status_message: '' });
    expect(errorRow((s) => s.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream failed' }), { 'error.type': '500' })).toMatchObject({
      status: 'error',
      error_type: '500',
      status_message: 'upstream failed',
    });
  });
});

describe('rows', () => {
  const request = (resource: Record<string, unknown>, spans: Partial<DecodedRequest['resourceSpans'][0]['scopes'][0]['spans'][0]>[]): DecodedRequest => ({
    resourceSpans: [
      {
        resource: resource as never,
        scopes: [
          {
            name: 'scope-x',
            version: '1',
            spans: spans.map((s, i) => ({
              traceId: 'ab'.repeat(16),
              spanId: (i + 1).toString(16).padStart(16, '0'),
              parentSpanId: '',
              name: 'span',
              kind: 1,
              startTimeUnixNano: '1700000000123456789',
              endTimeUnixNano: '1700000000223456789',
              attributes: {},
              statusCode: 0,
              statusMessage: '',
              events: [],
              ...s,
            })),
          },
        ],
      },
    ],
    spanCount: spans.length,
    rejectedSpans: 0,
    rejectReason: '',
  });

  it('service name from the resource, else unknown_service; scope and retention carried over', () => {
    const resources = new Map();
    const [a] = normaliseRequest(request({ 'service.name': 'billing', 'deployment.environment.name': 'prod', 'host.cores': 8 }, [{}]), { prices: defaultPrices, retentionDays: 7, resources });
    expect(a).toMatchObject({ service_name: 'billing', scope_name: 'scope-x', retention_days: 7 });
    // Resource attributes are stored once per distinct resource, referenced by id from each span row.
    expect(resources.get(a.resource_id)).toEqual({
      resource_id: a.resource_id,
      service_name: 'billing',
      attributes: { 'service.name': 'billing', 'deployment.environment.name': 'prod', 'host.cores': '8' },
      retention_days: 7,
    });
    const [same] = normaliseRequest(request({ 'host.cores': 8, 'deployment.environment.name': 'prod', 'service.name': 'billing' }, [{}]), { prices: defaultPrices, retentionDays: 7 });
    expect(same.resource_id).toBe(a.resource_id);
    const [b] = normaliseRequest(request({}, [{}]), { prices: defaultPrices, retentionDays: 7 });
    expect(b.service_name).toBe('unknown_service');
  });

  it('attributes become strings: non-strings JSON-encoded, huge values capped with a marker, pairs never split', () => {
    const big = 'x'.repeat(MAX_VALUE_CHARS - 60) + '😀'.repeat(1000);
    const [row] = normaliseRequest(
      request({ 'service.name': 's' }, [{ attributes: { n: 3, f: 1.5, b: false, arr: ['a', 1], obj: { k: [true] }, none: null, big } }]),
      { prices: defaultPrices, retentionDays: 30 },
    );
    expect(row.attributes).toMatchObject({ n: '3', f: '1.5', b: 'false', arr: '["a",1]', obj: '{"k":[true]}', none: '' });
    const capped = row.attributes.big;
    expect(capped.length).toBeLessThanOrEqual(MAX_VALUE_CHARS);
    expect(capped).toMatch(/…\[truncated \d+ of \d+ chars\]$/);
    expect((capped as unknown as { isWellFormed(): boolean }).isWellFormed()).toBe(true);
  });

  it('times are 19-digit nanosecond strings the table parses exactly; impossible times are clamped', () => {
    const rows = normaliseRequest(
      request({ 'service.name': 's' }, [
        { startTimeUnixNano: '1700000000123456789', endTimeUnixNano: '1000000000000' },
        { startTimeUnixNano: '0', endTimeUnixNano: '999999999999' },
        { startTimeUnixNano: '18446744073709551615', endTimeUnixNano: '9223372036854775808' },
      ]),
      { prices: defaultPrices, retentionDays: 30 },
    );
    expect(rows.map((r) => [r.start_time, r.end_time])).toEqual([
      ['1700000000123456789', '0000001000000000000'],
      ['0000000000000000000', '0000000000000000000'],
      ['9223372036854775807', '9223372036854775807'],
    ]);
  });

  it('attribute values named like Object.prototype members are data, not code', () => {
    const row = rowOf('x', { 'gen_ai.operation.name': 'constructor', 'openinference.span.kind': 'toString', 'traceloop.span.kind': '__proto__' });
    expect(row.category).toBe('other');
  });
});

describe('limits: every string capped, every number finite', () => {
  const wellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();
  const CUT = /…\[truncated \d+ of \d+ chars\]$/;
  const huge = (c: string) => c.repeat(MAX_NAME_CHARS - 30) + '😀'.repeat(5 * 1024 * 1024); // 10 MiB, pairs at the cut

  type Span = DecodedRequest['resourceSpans'][0]['scopes'][0]['spans'][0];
  const requestOf = (span: Partial<Span>, resource: Record<string, unknown>, scope: string): DecodedRequest => ({
    resourceSpans: [
      {
        resource: resource as never,
        scopes: [
          {
            name: scope,
            version: '',
            spans: [
              {
                traceId: 'cd'.repeat(16),
                spanId: '0000000000000001',
                parentSpanId: '',
                name: 'span',
                kind: 1,
                startTimeUnixNano: '1700000000123456789',
                endTimeUnixNano: '1700000000223456789',
                attributes: {},
                statusCode: 0,
                statusMessage: '',
                events: [],
                ...span,
              },
            ],
          },
        ],
      },
    ],
    spanCount: 1,
    rejectedSpans: 0,
    rejectReason: '',
  });
  const one = (span: Partial<Span>, resource: Record<string, unknown> = {}, scope = 'scope', prices = defaultPrices): SpanRow =>
    normaliseRequest(requestOf(span, resource, scope), { prices, retentionDays: 30 })[0];

  it('a 10 MiB span name is stored cut to MAX_NAME_CHARS with a marker, never splitting a pair', () => {
    const name = huge('n');
    const row = one({ name });
    expect(row.name.length).toBeLessThanOrEqual(MAX_NAME_CHARS);
    expect(row.name).toMatch(new RegExp(`…\\[truncated ${name.length - MAX_NAME_CHARS} of ${name.length} chars\\]$`));
    expect(row.name.startsWith('n'.repeat(MAX_NAME_CHARS - 100))).toBe(true);
    expect(wellFormed(row.name)).toBe(true);
  });

  it('every other string column and attribute keys are capped too; short values are untouched', () => {
    const long = huge('x');
    const row = one(
      {
        name: 'execute_tool t',
        statusCode: 2,
        statusMessage: long,
        attributes: {
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.request.model': long,
          'gen_ai.provider.name': long,
          'gen_ai.agent.name': long,
          'gen_ai.tool.name': long,
          'session.id': long,
          'user.id': long,
          'error.type': long,
          [long]: 'v',
        },
      },
      { 'service.name': long },
      long,
    );
    for (const column of ['name', 'service_name', 'model', 'provider', 'agent_name', 'tool_name', 'session_id', 'user_id', 'error_type', 'scope_name'] as const) {
      expect(row[column].length, column).toBeLessThanOrEqual(MAX_NAME_CHARS);
      if (column !== 'name') expect(row[column], column).toMatch(CUT);
      expect(wellFormed(row[column]), column).toBe(true);
    }
    expect(row.status_message.length).toBeLessThanOrEqual(MAX_VALUE_CHARS);
    expect(row.status_message.length).toBeGreaterThan(MAX_NAME_CHARS); // the message has the value limit
    expect(row.status_message).toMatch(CUT);
    const keys = Object.keys(row.attributes);
    expect(keys.every((k) => k.length <= MAX_NAME_CHARS)).toBe(true);
    expect(keys.filter((k) => CUT.test(k))).toHaveLength(1);

    const short = one({ name: 'chat', attributes: { 'gen_ai.request.model': 'm'.repeat(MAX_NAME_CHARS) } }, {}, 's'.repeat(MAX_NAME_CHARS));
    expect(short).toMatchObject({ name: 'chat', model: 'm'.repeat(MAX_NAME_CHARS), scope_name: 's'.repeat(MAX_NAME_CHARS) });
  });

  it(`keeps ${MAX_ATTRIBUTES} attributes per span and resource, and counts the dropped ones`, () => {
    const many = Object.fromEntries(Array.from({ length: MAX_ATTRIBUTES + 250 }, (_, i) => [`k${i}`, i]));
    const resources = new Map();
    const [row] = normaliseRequest(requestOf({ attributes: many }, { ...many, 'service.name': 'svc' }, ''), { prices: defaultPrices, retentionDays: 30, resources });
    const attrs = row.attributes;
    expect(Object.keys(attrs)).toHaveLength(MAX_ATTRIBUTES + 1);
    expect(attrs[DROPPED_ATTRIBUTES_KEY]).toBe('250');
    expect(attrs.k0).toBe('0');
    expect(attrs[`k${MAX_ATTRIBUTES - 1}`]).toBe(String(MAX_ATTRIBUTES - 1));
    const resource = [...resources.values()][0];
    expect(resource.attributes[DROPPED_ATTRIBUTES_KEY]).toBe('251');
    // The service name is read before the cap, wherever the key came.
    expect(resource.service_name).toBe('svc');
    // Under the limit nothing is added.
    expect(one({ attributes: { a: 1 } }).attributes).toEqual({ a: '1' });
  });

  it('an absurd explicit cost is ignored for the price table; absurd token counts are clamped', () => {
    const call = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 100 };
    const priced = one({ attributes: call }).cost_usd!;
    expect(priced).toBeGreaterThan(0);
    for (const cost of [1e300, MAX_COST_USD * 1.5, '1e309', Number.MAX_VALUE]) {
      expect(one({ attributes: { ...call, 'llm.cost.total': cost } }).cost_usd).toBe(priced);
    }
    // Up to the ceiling the explicit cost still wins.
    expect(one({ attributes: { ...call, 'llm.cost.total': MAX_COST_USD } }).cost_usd).toBe(MAX_COST_USD);
    expect(one({ attributes: { ...call, 'llm.cost.total': 0.25 } }).cost_usd).toBe(0.25);

    const absurd = one({
      attributes: {
        ...call,
        'gen_ai.usage.input_tokens': 1e300,
        'gen_ai.usage.output_tokens': '9'.repeat(20),
        'gen_ai.usage.cache_read.input_tokens': Number.MAX_SAFE_INTEGER,
        'gen_ai.usage.cache_creation.input_tokens': 2e10,
      },
    });
    expect(absurd).toMatchObject({ input_tokens: MAX_TOKENS, output_tokens: MAX_TOKENS, cache_read_tokens: MAX_TOKENS, cache_write_tokens: MAX_TOKENS });
    expect(Number.isFinite(absurd.cost_usd)).toBe(true);
    expect(absurd.cost_usd!).toBeLessThanOrEqual(MAX_COST_USD);
    // Not a finite number is no count at all.
    expect(one({ attributes: { ...call, 'gen_ai.usage.output_tokens': '9'.repeat(400) } }).output_tokens).toBe(0);
    // Cache counts larger than the input are added back, but never past the ceiling.
    expect(one({ attributes: { ...call, 'gen_ai.usage.input_tokens': 5, 'gen_ai.usage.cache_read.input_tokens': MAX_TOKENS } }).input_tokens).toBe(MAX_TOKENS);
  });

  it('a price above the ceiling (an absurd price file) leaves the call unpriced, never Infinity', () => {
    const row = one({ attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'm', 'gen_ai.usage.input_tokens': 10 } }, {}, 's', { price: () => Infinity });
    expect(row).toMatchObject({ cost_usd: null, counts_usage: 1 });
  });

  it('sums over a huge tree at the ceilings stay finite and exact', () => {
    const row = one({ attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'x', 'gen_ai.usage.input_tokens': 1e300, 'llm.cost.total': MAX_COST_USD } });
    const n = 100_000;
    expect(Number.isSafeInteger(row.input_tokens * n)).toBe(true);
    expect(Number.isFinite(row.cost_usd! * n)).toBe(true);
  });
});
