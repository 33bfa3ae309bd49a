import { describe, expect, it } from 'vitest';
import { buildTree, type TreeInput } from '../../lib/domain';

const span = (spanId: string, parentSpanId: string | null, usage: Partial<TreeInput> = {}, start = 0): TreeInput => ({
  spanId,
  parentSpanId,
  start,
  end: start,
  inputTokens: 0,
  outputTokens: 0,
  costUsd: null,
  countsUsage: false,
  scope: 'app',
  ...usage,
});
const llm = (id: string, parent: string, tokens: number, cost: number | null) =>
  span(id, parent, { inputTokens: tokens, outputTokens: tokens / 10, costUsd: cost, countsUsage: true });
/** A model call of 1,000/100 tokens at $0.0014 from instrumentation `scope`, running from `startMs` to `endMs`. */
const call = (id: string, parent: string | null, scope: string, startMs: number, endMs: number, usage: Partial<TreeInput> = {}) =>
  span(id, parent, { inputTokens: 1000, outputTokens: 100, costUsd: 0.0014, countsUsage: true, scope, start: startMs * 1000, end: endMs * 1000, ...usage });

const byId = <T extends TreeInput>(nodes: { span: T }[]) => Object.fromEntries(nodes.map((n) => [n.span.spanId, n])) as Record<string, (typeof nodes)[number] & ReturnType<typeof buildTree>['nodes'][number]>;
const counted = (spans: TreeInput[]) => buildTree(spans).nodes.filter((n) => n.countsSpend).map((n) => n.span.spanId).sort();
const ONE = { inputTokens: 1000, outputTokens: 100, costUsd: 0.0014, unpricedSpans: 0 };
const times = (k: number) => ({ inputTokens: 1000 * k, outputTokens: 100 * k, costUsd: Math.round(0.0014 * k * 1e9) / 1e9, unpricedSpans: 0 });

describe('request tree', () => {
  it('rolls each branch up over its whole subtree, counting model calls once', () => {
    const { nodes, maxDepth, totals } = buildTree([
      llm('c2', 'b', 100, 0.01),
      span('root', null),
      // A wrapper repeating its child's usage: not a model call itself, so not counted again.
      span('b', 'root', { inputTokens: 100, outputTokens: 10, costUsd: 0.01, countsUsage: false }),
      span('a', 'root'),
      llm('c1', 'a', 1000, 0.1),
      llm('c3', 'a', 500, null),
    ]);
    const by = byId(nodes);
    expect(maxDepth).toBe(3);
    expect(by.root.rollup).toEqual({ spanCount: 6, inputTokens: 1600, outputTokens: 160, costUsd: 0.11, unpricedSpans: 1 });
    expect(by.a.rollup).toEqual({ spanCount: 3, inputTokens: 1500, outputTokens: 150, costUsd: 0.1, unpricedSpans: 1 });
    expect(by.b.rollup).toEqual({ spanCount: 2, inputTokens: 100, outputTokens: 10, costUsd: 0.01, unpricedSpans: 0 });
    expect(by.c1.depth).toBe(2);
    expect(totals).toEqual(by.root.rollup);
    expect(by.b.countsSpend).toBe(false);
    expect(by.b.spendCountedElsewhere).toBeNull(); // not a model call: nothing to say
  });

  it('orders depth-first with children by start time', () => {
    const { nodes } = buildTree([span('r', null, {}, 0), span('late', 'r', {}, 20), span('early', 'r', {}, 10), span('kid', 'early', {}, 11)]);
    expect(nodes.map((n) => n.span.spanId)).toEqual(['r', 'early', 'kid', 'late']);
  });

  it('shows spans whose parent never arrived as orphans with their own subtree', () => {
    const { nodes, totals } = buildTree([span('r', null), span('lost', 'missing'), llm('under', 'lost', 10, 0.5)]);
    const lost = nodes.find((n) => n.span.spanId === 'lost')!;
    expect(lost).toMatchObject({ orphan: true, depth: 0 });
    expect(lost.rollup.inputTokens).toBe(10);
    expect(nodes.find((n) => n.span.spanId === 'under')).toMatchObject({ orphan: false, depth: 1 });
    expect(totals).toMatchObject({ spanCount: 3, inputTokens: 10, costUsd: 0.5 });
  });

  it('survives a parent cycle and a 100,000-deep chain', () => {
    const cycle = buildTree([span('x', 'y'), span('y', 'x')]);
    expect(cycle.nodes).toHaveLength(2);
    const chain = Array.from({ length: 100_000 }, (_, i) => span(`s${i}`, i === 0 ? null : `s${i - 1}`));
    const deep = buildTree(chain);
    expect(deep.maxDepth).toBe(100_000);
    expect(deep.nodes[0].rollup.spanCount).toBe(100_000);
    // A chain of model calls each reporting usage: only the innermost counts.
    const calls = Array.from({ length: 100_000 }, (_, i) => call(`c${i}`, i === 0 ? null : `c${i - 1}`, 'x', i, 200_000 - i));
    const stacked = buildTree(calls);
    expect(stacked.totals).toMatchObject(ONE);
    expect(stacked.nodes[0].spendCountedElsewhere).toMatchObject({ reason: 'below', on: { spanId: 'c99999' } });
  });
});

describe('each model call counted once', () => {
  it('nested: a model call with a usage-reporting model call below it does not count; the innermost does', () => {
    // Python-style stacking: the framework's span is active, so the client's span is its child.
    const { nodes, totals } = buildTree([
      span('root', null, {}, 0),
      call('lc', 'root', 'langchain', 1, 100),
      span('http', 'lc', {}, 2),
      call('openai', 'http', 'openai', 3, 90),
    ]);
    const by = byId(nodes);
    expect(totals).toMatchObject(ONE);
    expect(by.lc).toMatchObject({ countsSpend: false, spendCountedElsewhere: { reason: 'below', on: { spanId: 'openai' } } });
    expect(by.openai).toMatchObject({ countsSpend: true, spendCountedElsewhere: null });
    expect(by.lc.rollup).toMatchObject(ONE);
    expect(by.root.rollup).toMatchObject(ONE);
  });

  it('nested: whatever the outer one reports (a sum, an estimate), the calls below count and it does not', () => {
    const sum = buildTree([call('agent', null, 'fw', 0, 100, { inputTokens: 3000, outputTokens: 300 }), call('a', 'agent', 'oa', 1, 10), call('b', 'agent', 'oa', 11, 20), call('c', 'agent', 'oa', 21, 30)]);
    expect(sum.totals).toMatchObject(times(3));
    expect(byId(sum.nodes).agent).toMatchObject({ countsSpend: false, spendCountedElsewhere: { reason: 'below', on: { spanId: 'a' } } });
    const estimate = buildTree([call('lc', null, 'fw', 0, 100, { inputTokens: 990, outputTokens: 120 }), call('oa', 'lc', 'oa', 1, 90)]);
    expect(estimate.totals).toMatchObject(ONE);
  });

  it('an outer model call with no usage-reporting model call below it still counts', () => {
    const toolsOnly = buildTree([call('llm', null, 'fw', 0, 100), span('tool', 'llm', { scope: 'fw' }, 5)]);
    expect(counted(toolsOnly.nodes.map((n) => n.span))).toEqual(['llm']);
    expect(toolsOnly.totals).toMatchObject(ONE);
    // The model call below reports nothing (a stream without usage): the outer one's numbers are all there is.
    const silent = buildTree([call('lc', null, 'fw', 0, 100), call('oa', 'lc', 'oa', 1, 90, { inputTokens: 0, outputTokens: 0, costUsd: 0 })]);
    expect(silent.totals).toMatchObject(ONE);
    expect(byId(silent.nodes).lc.countsSpend).toBe(true);
  });

  it('side by side (how the JS instrumentations stack): the client span inside the framework span counts', () => {
    // OpenLLMetry: LangChain's span is never made active, so the OpenAI span is its sibling.
    const { nodes, totals } = buildTree([
      span('root', null, {}, 0),
      span('plan', 'root', { end: 300 }, 0),
      call('lc1', 'plan', 'langchain', 10, 100),
      call('oa1', 'plan', 'openai', 12, 98),
      call('lc2', 'plan', 'langchain', 110, 200),
      call('oa2', 'plan', 'openai', 112, 198),
    ]);
    const by = byId(nodes);
    expect(totals).toMatchObject(times(2));
    expect(by.plan.rollup).toMatchObject(times(2));
    expect(by.lc1).toMatchObject({ countsSpend: false, spendCountedElsewhere: { reason: 'same-call', on: { spanId: 'oa1' } } });
    expect(by.lc2).toMatchObject({ countsSpend: false, spendCountedElsewhere: { reason: 'same-call', on: { spanId: 'oa2' } } });
    expect(by.oa1.countsSpend && by.oa2.countsSpend).toBe(true);
  });

  it('side by side: the client span may hang off any ancestor of the framework span (OpenInference inside a chain)', () => {
    const { nodes, totals } = buildTree([
      span('branch', null, { end: 300 }, 0),
      span('chain', 'branch', { scope: 'langchain', end: 120 }, 5),
      span('prompt', 'chain', { scope: 'langchain', end: 9 }, 6),
      call('lc', 'chain', 'langchain', 10, 100),
      call('oa', 'branch', 'openai', 12, 98),
    ]);
    expect(totals).toMatchObject(ONE);
    expect(byId(nodes).lc.spendCountedElsewhere).toMatchObject({ reason: 'same-call', on: { spanId: 'oa' } });
    expect(byId(nodes).chain.rollup).toMatchObject({ inputTokens: 0 }); // counted where the client span is
  });

  it('side by side: both OpenAI instrumentations and LangChain on: counted once, on the innermost', () => {
    const { nodes, totals } = buildTree([
      span('b', null, { end: 300 }, 0),
      call('lc', 'b', 'langchain', 10, 100),
      call('tl', 'b', 'traceloop-openai', 12, 98),
      call('oi', 'b', 'openinference-openai', 13, 97),
    ]);
    expect(totals).toMatchObject(ONE);
    expect(byId(nodes).lc.spendCountedElsewhere).toMatchObject({ reason: 'same-call', on: { spanId: 'oi' } });
  });

  it('all four instrumentations (LangChain and OpenAI, both vendors): the client span nested in the other counts', () => {
    // OpenInference's OpenAI span is active, so OpenLLMetry's nests in it; LangChain's start late and end within 1 ms.
    const spans = [
      span('b', null, { end: 300 }, 0),
      call('oi-lc', 'b', 'oi-langchain', 10, 100.9),
      call('oi-oa', 'b', 'oi-openai', 12, 100.2),
      call('tl-oa', 'oi-oa', 'tl-openai', 13, 100.4),
      call('tl-lc', 'b', 'tl-langchain', 17, 100.6),
    ];
    const { nodes, totals } = buildTree(spans);
    expect(totals).toMatchObject(ONE);
    expect(counted(spans)).toEqual(['tl-oa']);
    expect(byId(nodes)['oi-oa'].spendCountedElsewhere).toMatchObject({ reason: 'below', on: { spanId: 'tl-oa' } });
    expect(byId(nodes)['tl-lc'].spendCountedElsewhere).toMatchObject({ reason: 'same-call', on: { spanId: 'tl-oa' } });
  });

  it('side by side, in parallel with equal usage: each call once, paired with its closest', () => {
    const spans = [span('b', null, { end: 300 }, 0)];
    // The framework's span starts a few ms before the client's and ends just after it.
    for (let i = 0; i < 5; i++) spans.push(call(`lc${i}`, 'b', 'langchain', 10 * i, 10 * i + 50 + 7 * i), call(`oa${i}`, 'b', 'openai', 10 * i + 3, 10 * i + 49 + 7 * i));
    // A slow call that holds a fast one in its time: still two calls.
    spans.push(call('slow-lc', 'b', 'langchain', 0, 1000), call('slow-oa', 'b', 'openai', 5, 990));
    spans.push(call('fast-lc', 'b', 'langchain', 100, 200), call('fast-oa', 'b', 'openai', 110, 190));
    const { nodes, totals } = buildTree(spans);
    expect(totals).toMatchObject(times(7));
    expect(counted(spans)).toEqual(['fast-oa', 'oa0', 'oa1', 'oa2', 'oa3', 'oa4', 'slow-oa']);
    for (let i = 0; i < 5; i++) expect(byId(nodes)[`lc${i}`].spendCountedElsewhere).toMatchObject({ reason: 'same-call', on: { spanId: `oa${i}` } });
    // One instrumentation alone: every call counts.
    expect(buildTree(spans.filter((s) => s.scope !== 'langchain')).totals).toMatchObject(times(7));
  });

  it('side by side needs the same call: equal usage, another instrumentation, overlapping in time, on its ancestry', () => {
    const base = [span('root', null, { end: 1000 }, 0), span('a', 'root', { end: 500 }, 0), span('z', 'root', { end: 500 }, 0)];
    // Two parallel calls of one instrumentation with equal usage stay two calls.
    expect(counted([...base, call('x', 'a', 'openai', 10, 100), call('y', 'a', 'openai', 20, 90)])).toEqual(['x', 'y']);
    // Different usage: two calls.
    expect(counted([...base, call('x', 'a', 'langchain', 10, 100), call('y', 'a', 'openai', 20, 90, { outputTokens: 101 })])).toEqual(['x', 'y']);
    // One after the other: two calls (within 2 ms of clock error they would overlap).
    expect(counted([...base, call('x', 'a', 'langchain', 10, 100), call('y', 'a', 'openai', 103, 190)])).toEqual(['x', 'y']);
    expect(counted([...base, call('x', 'a', 'langchain', 10, 100), call('y', 'a', 'openai', 101, 190)])).toEqual(['x']);
    // In another branch: its parent is no ancestor of x.
    expect(counted([...base, call('x', 'a', 'langchain', 10, 100), call('y', 'z', 'openai', 20, 90)])).toEqual(['x', 'y']);
    // No usage: nothing to match.
    expect(counted([...base, call('x', 'a', 'langchain', 10, 100, { inputTokens: 0, outputTokens: 0 }), call('y', 'a', 'openai', 20, 90, { inputTokens: 0, outputTokens: 0 })])).toEqual(['x', 'y']);
    // Without a scope a call is never matched.
    expect(counted([...base, call('x', 'a', 'langchain', 10, 100, { scope: undefined }), call('y', 'a', 'openai', 20, 90)])).toEqual(['x', 'y']);
  });

  it('side by side: the one that ended first counts, or the shorter when the ends are within 1 ms', () => {
    const base = [span('root', null, { end: 1000 }, 0), span('a', 'root', { end: 500 }, 0)];
    expect(counted([...base, call('x', 'a', 'langchain', 10, 100), call('y', 'a', 'openai', 20, 98)])).toEqual(['y']);
    // LangChain runs its callbacks in the background: its span may start after the client's.
    expect(counted([...base, call('x', 'a', 'langchain', 25, 105), call('y', 'a', 'openai', 20, 100)])).toEqual(['y']);
    // Ends within 1 ms (start times rounded to the ms): the shorter.
    expect(counted([...base, call('x', 'a', 'langchain', 10, 100), call('y', 'a', 'openai', 12, 100.5)])).toEqual(['y']);
    // Equal times: exactly one counts (the greater id).
    expect(counted([...base, call('x', 'a', 'langchain', 10, 100), call('y', 'a', 'openai', 10, 100)])).toEqual(['y']);
  });

  it('decides the same whatever order the spans arrive in, and whatever order siblings tie in', () => {
    const spans = [
      span('root', null, { end: 1000 }, 0),
      span('plan', 'root', { end: 500 }, 0),
      call('lc1', 'plan', 'langchain', 10, 100),
      call('oa1', 'plan', 'openai', 12, 98),
      call('lc2', 'plan', 'langchain', 10, 100),
      call('oa2', 'plan', 'openai', 12, 98),
      call('nested', 'root', 'fw', 600, 700),
      call('inner', 'nested', 'oa', 610, 690),
    ];
    const expected = counted(spans);
    expect(expected).toEqual(['inner', 'oa1', 'oa2']);
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let k = 0; k < 20; k++) {
      const shuffled = [...spans].sort(() => random() - 0.5);
      // The list reads only ids and parents of spans that are not model calls.
      const listLike = shuffled.map((s) => (s.countsUsage ? s : { ...s, start: 0, end: 0 }));
      expect(counted(shuffled)).toEqual(expected);
      expect(buildTree(listLike).totals).toEqual(buildTree(spans).totals);
    }
  });

  it('a chain of hand-offs that loops (clocks that contradict the tree) still counts the call once', () => {
    // x hands to y (same call beside it), y to z (below it), z to x (same call beside it): equal times everywhere.
    // z ('a-z', the least id) is y's child and reports the same usage from a third instrumentation.
    const spans = [span('r', null, { end: 100 }, 0), call('x', 'r', 'a', 0, 100), call('y', 'r', 'b', 0, 100), call('a-z', 'y', 'c', 0, 100)];
    const { totals, nodes } = buildTree(spans);
    expect(totals).toMatchObject(ONE);
    expect(nodes.filter((n) => n.countsSpend)).toHaveLength(1);
  });

  it('stays fast on many overlapping calls with equal usage from two instrumentations', () => {
    const spans = [span('r', null, { end: 1e9 }, 0), span('one', 'r', { end: 1e9 }, 0), span('other', 'r', { end: 1e9 }, 0)];
    // No pair is the same call (each instrumentation's spans sit in a branch of their own), so every comparison is made.
    for (let i = 0; i < 5000; i++) spans.push(call(`lc${i}`, 'one', 'langchain', i, 1e9 - i), call(`oa${i}`, 'other', 'openai', i + 1, 1e9 - i - 1));
    const t0 = performance.now();
    const { totals } = buildTree(spans);
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(2000);
    expect(totals.inputTokens).toBe(10_000 * 1000);
    // A fan-out of 150 identical calls, all at once, each reported by LangChain and by the OpenAI client.
    const fan = [span('r', null, { end: 1e9 }, 0)];
    for (let i = 0; i < 150; i++) fan.push(call(`lc${i}`, 'r', 'langchain', i * 0.01, 5000 - i * 0.01), call(`oa${i}`, 'r', 'openai', i * 0.01 + 3, 4999 - i * 0.01));
    expect(buildTree(fan).totals).toMatchObject(times(150));
  });
});
