// A span's input and output as text, from each convention's attributes; and how the live trace list folds a fresh
// first page into the pages it holds.
import { describe, expect, it } from 'vitest';
import type { TraceListResponse, TraceSummary } from '../../lib/domain';
import { ioPreview } from '../../components/trace/io-preview';
import { flattenPages, mergeHead } from '../../lib/client/trace-list-merge';

describe('input and output previews', () => {
  it('reads OTel GenAI messages (parts), with the system instructions first', () => {
    const io = ioPreview({
      'gen_ai.system_instructions': 'Be brief.',
      'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'Hi <b>there</b>' }] }]),
      'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Hello' }, { type: 'tool_call', name: 'search', arguments: { q: 'x' } }] }]),
    });
    expect(io.input).toEqual([{ role: 'system', text: 'Be brief.' }, { role: 'user', text: 'Hi <b>there</b>' }]);
    expect(io.output).toEqual([{ role: 'assistant', text: 'Hello\n→ search({"q":"x"})' }]);
  });

  it('reads the indexed conventions (OpenLLMetry gen_ai.prompt.N, OpenInference llm.input_messages.N) in order', () => {
    expect(ioPreview({ 'gen_ai.prompt.1.role': 'user', 'gen_ai.prompt.1.content': 'second', 'gen_ai.prompt.0.role': 'system', 'gen_ai.prompt.0.content': 'first', 'gen_ai.completion.0.content': 'done' })).toEqual({
      input: [{ role: 'system', text: 'first' }, { role: 'user', text: 'second' }],
      output: [{ role: '', text: 'done' }],
    });
    expect(ioPreview({ 'llm.input_messages.0.message.role': 'user', 'llm.input_messages.0.message.content': 'q', 'llm.output_messages.0.message.content': 'a' })).toEqual({
      input: [{ role: 'user', text: 'q' }],
      output: [{ role: '', text: 'a' }],
    });
  });

  it('reads OpenAI-style {messages}, plain text values and tool arguments and results', () => {
    expect(ioPreview({ 'input.value': JSON.stringify({ messages: [{ role: 'user', content: 'hey' }] }), 'output.value': 'plain answer' })).toEqual({
      input: [{ role: 'user', text: 'hey' }],
      output: [{ role: '', text: 'plain answer' }],
    });
    const tool = ioPreview({ 'gen_ai.tool.call.arguments': '{"path":"src/"}', 'gen_ai.tool.call.result': 'FAILED 3 tests' });
    expect(tool.input).toEqual([{ role: '', text: '{\n  "path": "src/"\n}' }]);
    expect(tool.output).toEqual([{ role: '', text: 'FAILED 3 tests' }]);
    expect(ioPreview({ 'http.method': 'GET' })).toEqual({ input: null, output: null });
    // Not JSON after all: the text as it is.
    expect(ioPreview({ 'gen_ai.prompt': '{not json' }).input).toEqual([{ role: '', text: '{not json' }]);
  });
});

const t = (id: string): TraceSummary => ({ traceId: id }) as TraceSummary;
const page = (ids: string[], nextCursor: string | null): TraceListResponse => ({ traces: ids.map(t), nextCursor });

describe('live list pages', () => {
  it('with one page loaded, replaces it with the fresh head, cursor included', () => {
    expect(mergeHead([page(['a', 'b'], 'c1')], page(['n', 'a'], 'c2'))).toEqual([page(['n', 'a'], 'c2')]);
  });

  it('with more loaded, keeps the later pages and the traces pushed out of the head', () => {
    const held = [page(['a', 'b', 'c'], 'c1'), page(['d', 'e'], 'c2')];
    const merged = mergeHead(held, page(['x', 'y', 'a'], 'h'));
    expect(merged.map((p) => p.traces.map((x) => x.traceId))).toEqual([['x', 'y', 'a', 'b', 'c'], ['d', 'e']]);
    expect(merged.map((p) => p.nextCursor)).toEqual(['c1', 'c2']);
    // A trace of a later page that was touched is at the top, once.
    expect(flattenPages(mergeHead(held, page(['e', 'a'], 'h'))).map((x) => x.traceId)).toEqual(['e', 'a', 'b', 'c', 'd']);
  });
});
