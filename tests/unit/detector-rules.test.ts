// The detector's rules on the simulator's scenarios and on hand-made trees, every tree passed through the
// real ingest normaliser (detector/testing/from-plan.ts): each rule fires on its runaway with the right
// branch and severity, stays silent on normal traffic, follows its settings, and escalates.
import { beforeAll, describe, expect, it } from 'vitest';
import type { AlertRule, DetectorRule, Finding } from '../../lib/domain';
import { chooseBaseline, evaluateTree, RULES, withSettings, DEFAULT_SETTINGS, type DetectorSettings, type RootBaseline, type TreeSnapshot } from '../../detector';
import { baselineKey, summariseHistory, treeStats, type TreeStats } from '../../detector/baseline';
import { costSpikeRule, serviceSpendAnomaly } from '../../detector/rules/cost-spike';
import { buildSnapshot, detectorSpan } from '../../detector/snapshot';
import { CALL_CONTENT } from '../../ingest/types';
import { planRows, planSnapshot, planSpans } from '../../detector/testing/from-plan';
import { agentCalls, handoffs, scenarioCtx, scenarioPlan } from '../../detector/testing/plans';
import type { TreePlan } from '../../sim/plan';
import { treeRng } from '../../sim/random';
import { scenarioByName } from '../../sim/scenarios/index';
import { planNormal } from '../../sim/scenarios/normal';

const ANCHOR = 1_750_000_000_000;

/** History of normal traffic (and anything added), as the storage side would summarise it. */
class History {
  readonly trees: TreeStats[] = [];
  add(plan: TreePlan): void {
    this.trees.push(treeStats(planSnapshot(plan, { anchorMs: ANCHOR })));
  }
  baseline(tree: TreeSnapshot, settings: DetectorSettings = DEFAULT_SETTINGS): RootBaseline | null {
    const own = this.trees.filter((t) => baselineKey(t.serviceName, t.rootName) === baselineKey(tree.serviceName, tree.rootName));
    const service = this.trees.filter((t) => t.serviceName === tree.serviceName);
    return chooseBaseline(own.length ? summariseHistory(own, 'rootName') : null, service.length ? summariseHistory(service, 'service') : null, settings);
  }
}

let history: History;
beforeAll(() => {
  history = new History();
  for (let i = 0; i < 200; i++) history.add(planNormal(treeRng(7, 'normal', 'history', i)));
});

function judge(plan: TreePlan, opts: { settings?: DetectorSettings; endedBy?: number; history?: History } = {}): { tree: TreeSnapshot; findings: Finding[] } {
  const settings = opts.settings ?? DEFAULT_SETTINGS;
  const now = ANCHOR + (opts.endedBy ?? plan.durationMs) + 1;
  const tree = planSnapshot(plan, { anchorMs: ANCHOR, endedBy: opts.endedBy, now });
  return { tree, findings: evaluateTree(tree, { settings, baseline: (opts.history ?? history).baseline(tree, settings) }) };
}

const rulesOf = (fs: Finding[]) => [...new Set(fs.map((f) => f.rule))].sort();
const only = (fs: Finding[], rule: AlertRule) => fs.filter((f) => f.rule === rule);

describe('detector rules on the simulator scenarios', () => {
  it('stays silent on normal traffic, finished and while running', () => {
    let judged = 0;
    for (let i = 0; i < 150; i++) {
      const plan = planNormal(treeRng(8, 'normal', 'tree', i));
      for (const endedBy of [undefined, plan.durationMs / 2]) {
        const { findings } = judge(plan, { endedBy });
        expect(findings.map((f) => f.title), `normal tree ${i}`).toEqual([]);
        judged++;
      }
    }
    expect(judged).toBe(300);
  });

  it('loop: the stuck CodingAgent branch, with the tool, the count and the agent in the title', () => {
    for (const seed of [1, 2, 3]) {
      const plan = scenarioPlan('loop', seed);
      const loops = only(judge(plan).findings, 'loop');
      expect(loops).toHaveLength(1);
      const [f] = loops;
      expect(f.spanId).toBe(plan.expect.loopAgentSpanId);
      expect(f.severity).toBe('critical'); // 10–14 identical calls
      expect(f.title).toBe(`run_tests called ${plan.expect.repeats}× with identical arguments in a row under CodingAgent`);
      expect(f.evidence.value).toBe(plan.expect.repeats);
      expect(f.evidence.names).toContain('run_tests');
      expect(f.evidence.spanIds).toHaveLength(Number(plan.expect.repeats));
    }
  });

  it('pingpong: Writer and Reviewer taking turns under ContentPipeline', () => {
    const plan = scenarioPlan('pingpong', 1);
    const { tree, findings } = judge(plan);
    expect(rulesOf(findings)).toEqual(['pingpong']);
    expect(findings[0].spanId).toBe(tree.spans[tree.root].spanId);
    expect(findings[0].severity).toBe('critical');
    expect(findings[0].evidence.names).toEqual(['Writer', 'Reviewer']);
    expect(findings[0].evidence.details.cycleLength).toBe(2);
  });

  it('fanout: DeepResearch running ~50 workers at once', () => {
    const plan = scenarioPlan('fanout', 1);
    const { tree, findings } = judge(plan);
    const f = only(findings, 'fanout');
    expect(f).toHaveLength(1);
    expect(f[0].spanId).toBe(tree.spans[tree.root].spanId);
    expect(f[0].evidence.value).toBeGreaterThanOrEqual(47);
    expect(f[0].title).toMatch(/^DeepResearch ran \d+ children at once \(\d+ SubQuestionWorker/);
  });

  it('fanout: deep recursion past 16 levels, at the first span past the limit', () => {
    const plan = scenarioPlan('deep', 1);
    const { tree, findings } = judge(plan);
    const f = only(findings, 'fanout');
    expect(f).toHaveLength(1);
    const at = tree.spans.findIndex((s) => s.spanId === f[0].spanId);
    expect(tree.depth[at]).toBe(17);
    expect(f[0].evidence.value).toBe(tree.maxDepth - 1);
  });

  it('retry_storm: every Summarizer branch hammering a 429, and the tree past its retry budget', () => {
    const plan = scenarioPlan('retry_storm', 1);
    const { tree, findings } = judge(plan);
    expect(rulesOf(findings)).toEqual(['retry_storm']);
    const branches = findings.filter((f) => f.spanId !== tree.rootSpanId);
    expect(branches).toHaveLength(Number(plan.expect.branches));
    for (const f of branches) expect(f.title).toMatch(/^gpt-4o failed \d+× with rate limits \(RateLimitError, HTTP 429\) under Summarizer$/);
    const whole = findings.find((f) => f.spanId === tree.rootSpanId)!;
    expect(whole.severity).toBe('critical');
    expect(whole.evidence.details.retryShare).toBeGreaterThan(0.2);
  });

  it('cost_spike: against the baseline trees of its root name; silent without 20 trees of history', () => {
    const scenario = scenarioByName('cost_spike')!;
    const withBaseline = new History();
    withBaseline.trees.push(...history.trees);
    for (const p of scenario.baseline!(scenarioCtx('cost_spike', 1))) withBaseline.add(p);
    const plan = scenarioPlan('cost_spike', 1);
    const f = only(judge(plan, { history: withBaseline }).findings, 'cost_spike');
    expect(f).toHaveLength(1);
    expect(f[0].evidence.baseline).toMatchObject({ scope: 'rootName' });
    expect(f[0].evidence.baseline!.trees).toBeGreaterThanOrEqual(20);
    expect(f[0].evidence.value).toBeGreaterThan(3.5);
    expect(f[0].title).toMatch(/cost \$\d+\.\d\d, [\d.]+× its usual \$0\.\d+ \(robust z/);

    // Only 10 trees of its root name: not enough history to call anything a spike (the overrun check aside).
    const thin = new History();
    for (const p of scenario.baseline!(scenarioCtx('cost_spike', 1, 0, { baselineTrees: 10 }))) thin.add(p);
    const cold = judge(plan, { history: thin }).findings.filter((x) => x.rule === 'cost_spike' && x.evidence.metric.startsWith('robust z'));
    expect(cold).toEqual([]);
  });

  it('slow_burn: caught by cost_spike as an overrun, never by loop', () => {
    for (const seed of [1, 2, 3]) {
      const { findings } = judge(scenarioPlan('slow_burn', seed));
      expect(rulesOf(findings)).toEqual(['cost_spike']);
      expect(findings[0].title).toMatch(/^MarketWatcher has run 3\.0 min, [\d.]+× its service's usual p99/);
    }
  });

  it('huge: a known bulk job stays silent; its first sight is a fan-out', () => {
    const plan = scenarioPlan('huge', 1, 0, { spans: 2_000 });
    const known = new History();
    known.trees.push(...history.trees);
    for (let i = 0; i < 20; i++) known.add(scenarioPlan('huge', 99, i, { spans: 2_000 }));
    expect(judge(plan, { history: known }).findings).toEqual([]);
    expect(rulesOf(judge(plan).findings)).toEqual(['fanout']);
  });
});

describe('detector rules: what counts and what does not', () => {
  const run = (rule: DetectorRule, plan: TreePlan, settings = DEFAULT_SETTINGS) =>
    RULES[rule](planSnapshot(plan, { anchorMs: ANCHOR }), { settings, baseline: null });

  it('calls with no recorded arguments or prompt are never assumed identical', () => {
    const tools = agentCalls(Array.from({ length: 12 }, () => ({ tool: 'list_files', args: null })));
    expect(run('loop', tools.plan)).toEqual([]);
    const chats = agentCalls(Array.from({ length: 12 }, () => ({ prompt: null })));
    expect(run('loop', chats.plan)).toEqual([]);
    // The same calls with their (identical) arguments and prompts recorded are a loop.
    expect(run('loop', agentCalls(Array.from({ length: 12 }, () => ({ tool: 'list_files', args: { dir: '.' } }))).plan)).toHaveLength(1);
    const same = run('loop', agentCalls(Array.from({ length: 4 }, () => ({ prompt: 'Summarise the ticket' }))).plan);
    expect(same.map((f) => f.title)).toEqual(['gpt-4o-2024-08-06 called 4× with an identical prompt in a row under Worker']);
  });

  it('a call is judged the same whether its row comes from ingest (which knows what it recorded) or from storage', () => {
    const plans = [
      agentCalls(Array.from({ length: 4 }, () => ({ tool: 'list_files', args: null }))).plan,
      agentCalls(Array.from({ length: 4 }, () => ({ tool: 'list_files', args: { dir: '.' } }))).plan,
      agentCalls(Array.from({ length: 4 }, () => ({ prompt: null }))).plan,
      agentCalls(Array.from({ length: 4 }, () => ({ prompt: 'Summarise the ticket' }))).plan,
      planNormal(treeRng(7, 'normal', 'signatures', 0)),
    ];
    let comparable = 0;
    for (const plan of plans) {
      const rows = planRows(plan);
      // A stored row has the columns only: its signature is checked against the one an empty call gets.
      const stored = rows.map((r) => detectorSpan({ ...r, [CALL_CONTENT]: undefined }).callSignature);
      expect(rows.map((r) => detectorSpan(r).callSignature)).toEqual(stored);
      comparable += stored.filter((s) => s !== null).length;
    }
    expect(comparable).toBeGreaterThan(8);
  });

  it('loop: 3 in a row warns, and parallel duplicates or different arguments do not count', () => {
    const three = agentCalls([{ tool: 'run_tests', args: { path: 'a' } }, { tool: 'run_tests', args: { path: 'a' } }, { tool: 'run_tests', args: { path: 'a' } }]);
    const f = run('loop', three.plan);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ severity: 'warning', spanId: three.agent.spanId });
    const two = agentCalls([{ tool: 'run_tests', args: { path: 'a' } }, { tool: 'run_tests', args: { path: 'b' } }, { tool: 'run_tests', args: { path: 'a' } }]);
    expect(run('loop', two.plan)).toEqual([]);
  });

  it('loop: the same call failing the same way 3 times', () => {
    const err = { statusCode: 400, errorType: 'ValidationError', message: 'bad path' };
    const plan = agentCalls([
      { tool: 'write_file', args: { path: '/etc/x' }, error: err },
      { tool: 'read_file', args: { path: 'a' } },
      { tool: 'write_file', args: { path: '/etc/x' }, error: err },
      { tool: 'read_file', args: { path: 'b' } },
      { tool: 'write_file', args: { path: '/etc/x' }, error: err },
    ]).plan;
    const f = run('loop', plan);
    expect(f.map((x) => x.title)).toEqual(['write_file failed 3× with identical arguments (ValidationError) under Worker']);
  });

  it('pingpong: agents taking turns as siblings, and nested in each other', () => {
    const siblings = handoffs(6, 'siblings');
    const s = run('pingpong', siblings.plan);
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ severity: 'warning', spanId: siblings.root.spanId });
    expect(s[0].evidence.details).toMatchObject({ kind: 'sibling agents', cycleLength: 2, repeats: 3 });
    expect(run('pingpong', handoffs(5, 'siblings').plan)).toEqual([]); // 2.5 rounds

    const nested = handoffs(6, 'nested');
    const n = run('pingpong', nested.plan);
    expect(n).toHaveLength(1);
    expect(n[0]).toMatchObject({ severity: 'warning', spanId: nested.agents[0].spanId });
    expect(n[0].evidence.details).toMatchObject({ kind: 'nested agents', cycleLength: 2, repeats: 3 });
    expect(n[0].title).toBe('Writer → Reviewer took turns 6 times (3 rounds) nested from Writer');
    expect(run('pingpong', handoffs(10, 'nested').plan)[0].severity).toBe('critical');

    // A 3-agent cycle, and one agent recursing into itself (a loop or a deep tree, never a ping-pong).
    const three = run('pingpong', handoffs(9, 'siblings', ['Planner', 'Coder', 'Critic']).plan);
    expect(three[0].evidence.details).toMatchObject({ cycleLength: 3, repeats: 3 });
    expect(run('pingpong', handoffs(12, 'nested', ['Decomposer']).plan)).toEqual([]);
  });

  it('pingpong: a branch cycling through the same calls', () => {
    const poll = (i: number) => ({ tool: ['get_price', 'get_news', 'get_volume'][i % 3], args: { symbol: 'ACME' } });
    const f = run('pingpong', agentCalls(Array.from({ length: 9 }, (_, i) => poll(i))).plan);
    expect(f.map((x) => x.title)).toEqual(['get_price → get_news → get_volume calls cycled 3× under Worker']);
  });

  it('context_bloat: input rising over 5 sequential calls, and one huge call', () => {
    const rising = agentCalls([3000, 4200, 5600, 7000, 8800].map((inputTokens) => ({ inputTokens })));
    const f = run('context_bloat', rising.plan);
    expect(f.map((x) => x.title)).toEqual(['Input grew on 5 consecutive model calls under Worker, 3.0k → 8.8k tokens']);
    // Four rising calls, or five that grow too little, are ordinary.
    expect(run('context_bloat', agentCalls([3000, 4200, 5600, 7000].map((inputTokens) => ({ inputTokens }))).plan)).toEqual([]);
    expect(run('context_bloat', agentCalls([5200, 5300, 5400, 5500, 5600].map((inputTokens) => ({ inputTokens }))).plan)).toEqual([]);
    const big = run('context_bloat', agentCalls([{ inputTokens: 180_000 }]).plan);
    expect(big[0]).toMatchObject({ severity: 'warning' });
    expect(big[0].title).toBe('gpt-4o-2024-08-06 call under Worker carried 180k input tokens (limit 100k)');
  });

  it('stall: a running tree with no new span for 10 minutes; silent once finished', () => {
    const { plan } = agentCalls([{ tool: 'fetch', args: { u: 1 } }]);
    const spans = planSpans(plan, { anchorMs: ANCHOR }).filter((s) => s.parentSpanId !== null); // the root never arrived
    const last = Math.max(...spans.map((s) => s.end)) / 1000;
    const at = (minutes: number) => RULES.stall(buildSnapshot(spans, { traceId: plan.traceId, now: last + minutes * 60_000 }), { settings: DEFAULT_SETTINGS, baseline: null });
    expect(at(9)).toEqual([]);
    expect(at(11)[0]).toMatchObject({ rule: 'stall', severity: 'warning', spanId: plan.spans[0].spanId });
    expect(at(21)[0].severity).toBe('critical');
    const finished = planSnapshot(plan, { anchorMs: ANCHOR, now: ANCHOR + 60 * 60_000 });
    expect(RULES.stall(finished, { settings: DEFAULT_SETTINGS, baseline: null })).toEqual([]);
  });
});

describe('detector settings change the outcome', () => {
  it('raising a threshold silences a rule, lowering one makes it fire', () => {
    const loop = scenarioPlan('loop', 1);
    expect(rulesOf(judge(loop, { settings: withSettings(DEFAULT_SETTINGS, { loop: { consecutive: 15, anywhere: 15, critical: 20 } }) }).findings)).not.toContain('loop');
    expect(rulesOf(judge(loop, { settings: withSettings(DEFAULT_SETTINGS, { loop: { enabled: false } }) }).findings)).not.toContain('loop');

    const fanout = scenarioPlan('fanout', 1);
    expect(rulesOf(judge(fanout, { settings: withSettings(DEFAULT_SETTINGS, { fanout: { minChildren: 60 } }) }).findings)).toEqual([]);

    const pingpong = scenarioPlan('pingpong', 1);
    const fewer = judge(pingpong, { settings: withSettings(DEFAULT_SETTINGS, { pingpong: { repeats: 8, critical: 10 } }) });
    expect(rulesOf(fewer.findings)).toEqual([]);

    // A normal tree: with a 2-call loop threshold some normal trees would alert; the default keeps them quiet.
    const deep = scenarioPlan('deep', 1);
    expect(rulesOf(judge(deep, { settings: withSettings(DEFAULT_SETTINGS, { fanout: { maxDepth: 40 } }) }).findings)).toEqual([]);

    const retry = scenarioPlan('retry_storm', 1);
    const retryQuiet = withSettings(DEFAULT_SETTINGS, { retry_storm: { branchErrors: 20, branchCritical: 30, minRetries: 500, treeCritical: 600 } });
    expect(rulesOf(judge(retry, { settings: retryQuiet }).findings)).toEqual([]);
  });

  it('cost_spike follows its z threshold and its absolute floor', () => {
    const scenario = scenarioByName('cost_spike')!;
    const h = new History();
    h.trees.push(...history.trees);
    for (const p of scenario.baseline!(scenarioCtx('cost_spike', 1))) h.add(p);
    const plan = scenarioPlan('cost_spike', 1);
    const tree = planSnapshot(plan, { anchorMs: ANCHOR });
    const z = (settings: DetectorSettings) => costSpikeRule(tree, { settings, baseline: h.baseline(tree, settings) });
    expect(z(DEFAULT_SETTINGS)).toHaveLength(1);
    expect(z(withSettings(DEFAULT_SETTINGS, { cost_spike: { zThreshold: 40, criticalZ: 50 } }))).toEqual([]);
    expect(z(withSettings(DEFAULT_SETTINGS, { cost_spike: { minCostUsd: 100 } }))).toEqual([]);
  });
});

describe('escalation', () => {
  it('loop: a warning while the agent repeats, critical once it reached 10', () => {
    const plan = scenarioPlan('loop', 1);
    const calls = plan.spans.filter((s) => s.name === 'execute_tool run_tests').map((s) => s.end).sort((a, b) => a - b);
    const seen = [3, 5, 9, 10].map((n) => {
      const f = only(judge(plan, { endedBy: calls[n - 1] }).findings, 'loop');
      return f.map((x) => `${x.spanId === plan.expect.loopAgentSpanId ? 'CodingAgent' : x.spanId}:${x.severity}:${x.evidence.value}`);
    });
    // The same branch (the agent's id, before and after its span arrives) escalating as the count grows.
    expect(seen).toEqual([['CodingAgent:warning:3'], ['CodingAgent:warning:5'], ['CodingAgent:warning:9'], ['CodingAgent:critical:10']]);
  });

  it('pingpong: warning at 3 rounds, critical at 5', () => {
    const s = (turns: number) => RULES.pingpong(planSnapshot(handoffs(turns, 'siblings').plan, { anchorMs: ANCHOR }), { settings: DEFAULT_SETTINGS, baseline: null });
    expect([4, 6, 9, 10].map((t) => s(t)[0]?.severity ?? null)).toEqual([null, 'warning', 'warning', 'critical']);
  });

  it('the service spend chart (EWMA) flags a jump in a steady service', () => {
    const steady = Array.from({ length: 24 }, (_, i) => 10 + (i % 3));
    expect(serviceSpendAnomaly('svc', steady, DEFAULT_SETTINGS)?.severity).toBeNull();
    expect(serviceSpendAnomaly('svc', [...steady, 20], DEFAULT_SETTINGS)?.severity).toBe('warning');
    expect(serviceSpendAnomaly('svc', [...steady, 40], DEFAULT_SETTINGS)?.severity).toBe('critical');
    expect(serviceSpendAnomaly('svc', steady.slice(0, 5), DEFAULT_SETTINGS)).toBeNull();
  });
});
