// The detector on 100,000-span trees: every rule is linear (or n·log n) in the tree, so the whole rule set
// finishes well within a tick. Prints the times; the only bound is a generous sanity one.
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, evaluateTree, RULES, type DetectorSpan } from '../../detector';
import { buildSnapshot, type TreeSnapshot } from '../../detector/snapshot';
import { planSpans } from '../../detector/testing/from-plan';
import { scenarioPlan } from '../../detector/testing/plans';

const SANITY_MS = 5_000;

function timeRules(label: string, tree: TreeSnapshot): { ms: number; findings: number } {
  const per: string[] = [];
  const started = performance.now();
  let findings = 0;
  for (const [name, rule] of Object.entries(RULES)) {
    const t = performance.now();
    findings += rule(tree, { settings: DEFAULT_SETTINGS, baseline: null }).length;
    per.push(`${name} ${(performance.now() - t).toFixed(0)}`);
  }
  const ms = performance.now() - started;
  console.log(`${label}: ${tree.totals.spans.toLocaleString('en-US')} spans, all rules ${ms.toFixed(0)} ms (${per.join(', ')} ms), ${findings} findings`);
  return { ms, findings };
}

function snapshot(label: string, spans: DetectorSpan[], now: number): TreeSnapshot {
  const t = performance.now();
  const tree = buildSnapshot(spans, { traceId: label, now });
  console.log(`${label}: snapshot (shared tree + indexes) ${(performance.now() - t).toFixed(0)} ms`);
  return tree;
}

const span = (over: Partial<DetectorSpan> & Pick<DetectorSpan, 'spanId' | 'parentSpanId' | 'start' | 'end'>): DetectorSpan => ({
  name: 'execute_tool run_tests',
  serviceName: 'svc',
  category: 'tool',
  agentName: null,
  toolName: 'run_tests',
  model: null,
  callSignature: 'sig',
  status: 'ok',
  errorType: null,
  httpStatus: null,
  statusMessage: '',
  inputTokens: 0,
  outputTokens: 0,
  costUsd: null,
  countsUsage: false,
  scope: 'test',
  ...over,
});

describe('detector at 100,000 spans', () => {
  it('a 100,000-span simulator tree (huge), through the real normaliser', () => {
    const plan = scenarioPlan('huge', 1, 0, { spans: 100_000 });
    const anchor = 1_750_000_000_000;
    const spans = planSpans(plan, { anchorMs: anchor });
    expect(spans).toHaveLength(100_000);
    const tree = snapshot('huge', spans, anchor + plan.durationMs + 1);
    const { ms } = timeRules('huge', tree);
    expect(ms).toBeLessThan(SANITY_MS);
    // And the same tree while running (root and workers not arrived yet): placeholders hold the branches.
    const running = snapshot('huge running', spans.filter((s) => s.category !== 'agent'), anchor + plan.durationMs / 2);
    expect(running.running).toBe(true);
    expect(timeRules('huge running', running).ms).toBeLessThan(SANITY_MS);
  });

  it('worst shapes: one agent repeating 100,000 calls, and a 100,000-deep chain of two agents', () => {
    const flat: DetectorSpan[] = [span({ spanId: 'root', parentSpanId: null, name: 'invoke_agent A', category: 'agent', agentName: 'A', toolName: null, callSignature: null, start: 0, end: 2e9 })];
    for (let i = 0; i < 100_000; i++) {
      flat.push(
        span({
          spanId: `s${i}`,
          parentSpanId: 'root',
          // Cycling signatures, rising inputs and failures: every per-branch rule has work to do.
          callSignature: `sig${i % 3}`,
          category: i % 2 ? 'tool' : 'llm',
          countsUsage: i % 2 === 0,
          inputTokens: 1000 + i,
          status: i % 5 === 0 ? 'error' : 'ok',
          errorType: i % 5 === 0 ? 'RateLimitError' : null,
          start: i * 10_000 + 1,
          end: i * 10_000 + 5_000,
        }),
      );
    }
    const flatTree = snapshot('flat', flat, 2e6);
    const a = timeRules('flat', flatTree);
    expect(a.ms).toBeLessThan(SANITY_MS);
    // 100,000 calls one after another: a loop, a cycle, a retry storm and a growing context, but no fan-out
    // (never more than one child at a time).
    expect(new Set(evaluateTree(flatTree, { settings: DEFAULT_SETTINGS, baseline: null }).map((f) => f.rule))).toEqual(
      new Set(['loop', 'pingpong', 'retry_storm', 'context_bloat']),
    );

    const chain: DetectorSpan[] = [];
    for (let i = 0; i < 100_000; i++) {
      chain.push(span({ spanId: `c${i}`, parentSpanId: i ? `c${i - 1}` : null, name: 'invoke_agent', category: 'agent', agentName: i % 2 ? 'Reviewer' : 'Writer', toolName: null, callSignature: null, start: i, end: 1e6 - i }));
    }
    const chainTree = snapshot('chain', chain, 2e6);
    const b = timeRules('chain', chainTree);
    expect(b.ms).toBeLessThan(SANITY_MS);
    const rules = evaluateTree(chainTree, { settings: DEFAULT_SETTINGS, baseline: null }).map((f) => `${f.rule}:${f.severity}`);
    expect(rules.sort()).toEqual(['fanout:critical', 'pingpong:critical']);
  });
});
