import { describe, expect, it } from 'vitest';
import { buildTree, type TreeInput } from '../../lib/domain';

const span = (spanId: string, parentSpanId: string | null, usage: Partial<TreeInput> = {}, start = 0): TreeInput => ({
  spanId,
  parentSpanId,
  start,
  inputTokens: 0,
  outputTokens: 0,
  costUsd: null,
  countsUsage: false,
  ...usage,
});
const llm = (id: string, parent: string, tokens: number, cost: number | null) =>
  span(id, parent, { inputTokens: tokens, outputTokens: tokens / 10, costUsd: cost, countsUsage: true });

describe('request tree', () => {
  it('rolls each branch up over its whole subtree, counting model calls once', () => {
    const { nodes, maxDepth } = buildTree([
      llm('c2', 'b', 100, 0.01),
      span('root', null),
      // A wrapper repeating its child's usage: not a model call itself, so not counted again.
      span('b', 'root', { inputTokens: 100, outputTokens: 10, costUsd: 0.01, countsUsage: false }),
      span('a', 'root'),
      llm('c1', 'a', 1000, 0.1),
      llm('c3', 'a', 500, null),
    ]);
    const by = Object.fromEntries(nodes.map((n) => [n.span.spanId, n]));
    expect(maxDepth).toBe(3);
    expect(by.root.rollup).toEqual({ spanCount: 6, inputTokens: 1600, outputTokens: 160, costUsd: 0.11, unpricedSpans: 1 });
    expect(by.a.rollup).toEqual({ spanCount: 3, inputTokens: 1500, outputTokens: 150, costUsd: 0.1, unpricedSpans: 1 });
    expect(by.b.rollup).toEqual({ spanCount: 2, inputTokens: 100, outputTokens: 10, costUsd: 0.01, unpricedSpans: 0 });
    expect(by.c1.depth).toBe(2);
  });

  it('orders depth-first with children by start time', () => {
    const { nodes } = buildTree([span('r', null, {}, 0), span('late', 'r', {}, 20), span('early', 'r', {}, 10), span('kid', 'early', {}, 11)]);
    expect(nodes.map((n) => n.span.spanId)).toEqual(['r', 'early', 'kid', 'late']);
  });

  it('shows spans whose parent never arrived as orphans with their own subtree', () => {
    const { nodes } = buildTree([span('r', null), span('lost', 'missing'), llm('under', 'lost', 10, 0.5)]);
    const lost = nodes.find((n) => n.span.spanId === 'lost')!;
    expect(lost).toMatchObject({ orphan: true, depth: 0 });
    expect(lost.rollup.inputTokens).toBe(10);
    expect(nodes.find((n) => n.span.spanId === 'under')).toMatchObject({ orphan: false, depth: 1 });
  });

  it('survives a parent cycle and a 100,000-deep chain', () => {
    const cycle = buildTree([span('x', 'y'), span('y', 'x')]);
    expect(cycle.nodes).toHaveLength(2);
    const chain = Array.from({ length: 100_000 }, (_, i) => span(`s${i}`, i === 0 ? null : `s${i - 1}`));
    const deep = buildTree(chain);
    expect(deep.maxDepth).toBe(100_000);
    expect(deep.nodes[0].rollup.spanCount).toBe(100_000);
  });
});
