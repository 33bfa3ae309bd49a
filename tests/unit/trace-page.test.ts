// The trace page's pure logic: repeated calls grouped, the rows shown (groups, collapsed branches, the
// missing-parent heading), the hottest path, search within the tree, names, burn rate, time ticks, alert badges.
import { describe, expect, it } from 'vitest';
import type { Alert, SpanView } from '../../lib/domain';
import { apiTimeMs, treeFromApiOrder, treeSteps } from '../../components/span-tree';
import { parseTimeMs } from '../../components/format';
import { callLabel, repeatGroups } from '../../components/tree/repeats';
import { displayRows, revealing } from '../../components/tree/rows';
import { hottestPath } from '../../components/tree/hottest';
import { searchTree } from '../../components/tree/search';
import { alertsBySpan, burnRatePerMin, sharePct, spanExtent, tickLabel, TIMELINE_MAX_TICKS, timeTicks, treeName } from '../../components/trace/numbers';
import { otlpEndpoint, simulateCommand } from '../../components/trace/onboarding';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();

/** Spans in the API's order: [name, depth, extra]. */
function spans(list: [string, number, Partial<SpanView>?][]): SpanView[] {
  return list.map(([name, depth, extra], i) => ({
    spanId: name.padEnd(16, '0').slice(0, 16),
    parentSpanId: null,
    name,
    serviceName: 'svc',
    category: 'other',
    model: null,
    provider: null,
    startTime: iso(i * 10),
    endTime: iso(i * 10 + 5),
    durationMs: 5,
    status: 'ok',
    statusMessage: '',
    inputTokens: 0,
    outputTokens: 0,
    costUsd: null,
    agentName: null,
    toolName: null,
    callSignature: null,
    errorType: null,
    depth,
    orphan: false,
    attributes: {},
    rollup: { spanCount: 1, inputTokens: 0, outputTokens: 0, costUsd: 0, unpricedSpans: 0 },
    countsSpend: false,
    spendCountedOn: null,
    running: false,
    killed: false,
    killedBy: null,
    ...extra,
  }));
}

const runTests = (n: number): [string, number, Partial<SpanView>] => [`run${n}`, 2, { category: 'tool', toolName: 'run_tests', callSignature: 'sigA', attributes: { 'gen_ai.tool.call.arguments': '{"path":"src/"}' } }];
const rollup = (costUsd: number, tokens = 0) => ({ rollup: { spanCount: 1, inputTokens: tokens, outputTokens: 0, costUsd, unpricedSpans: 0 } });

describe('repeated calls', () => {
  const tree = treeFromApiOrder(
    spans([
      ['root', 0],
      ['agent', 1],
      runTests(1),
      ['chat1', 2, { category: 'llm', callSignature: 'sigB' }],
      runTests(2),
      ['chat2', 2, { category: 'llm', callSignature: 'sigC' }],
      runTests(3),
      ['other', 1, { category: 'tool', toolName: 'run_tests', callSignature: 'sigA' }],
    ]),
  );
  const repeats = repeatGroups(tree);

  it('groups siblings with the same call signature, three or more, under one parent only', () => {
    expect(repeats.groups).toHaveLength(1);
    const g = repeats.groups[0];
    expect(g.members.map((m) => m.span.name)).toEqual(['run1', 'run2', 'run3']);
    expect(g.label).toBe('run_tests(path=src/)');
    // The same call under another parent is not in the group.
    expect(repeats.groupOf.has('other'.padEnd(16, '0'))).toBe(false);
  });

  it('shows one row for the group where its first call is, and the calls once opened', () => {
    const closed = displayRows(tree, repeats, { collapsed: new Set(), openGroups: new Set() });
    expect(closed.rows.map((r) => (r.kind === 'span' ? r.node.span.name : r.kind === 'group' ? `× ${r.group.members.length} ${r.group.label}` : r.kind))).toEqual([
      'root',
      'agent',
      '× 3 run_tests(path=src/)',
      'chat1',
      'chat2',
      'other',
    ]);
    const open = displayRows(tree, repeats, { collapsed: new Set(), openGroups: new Set([repeats.groups[0].key]) });
    expect(open.rows.map((r) => (r.kind === 'span' ? r.node.span.name : r.kind))).toEqual(['root', 'agent', 'group', 'run1', 'chat1', 'run2', 'chat2', 'run3', 'other']);
    expect(open.rowOf.get('run2'.padEnd(16, '0'))).toBe(5);
  });

  it('labels a call: a tool with its arguments, anything else by its name', () => {
    expect(callLabel({ category: 'tool', name: 'execute_tool x', toolName: 'search', attributes: { 'ai.toolCall.args': '{"q":"rust","n":3}' } })).toBe('search(q=rust, n=3)');
    expect(callLabel({ category: 'tool', name: 'execute_tool fetch', toolName: null, attributes: {} })).toBe('execute_tool fetch()');
    expect(callLabel({ category: 'tool', name: 't', toolName: 'grep', attributes: { 'input.value': 'x'.repeat(100) } })).toBe(`grep(${'x'.repeat(59)}…)`);
    expect(callLabel({ category: 'llm', name: 'chat gpt-4o', toolName: null, attributes: {} })).toBe('chat gpt-4o');
  });

  it('reveals a span: opens its collapsed ancestors and the groups on the way', () => {
    const run2 = tree.byId.get('run2'.padEnd(16, '0'))!;
    expect(revealing(tree, run2, repeats)).toEqual({ expand: ['agent'.padEnd(16, '0'), 'root'.padEnd(16, '0')], openGroups: [repeats.groups[0].key] });
  });
});

describe('tree in steps', () => {
  it('reads the API\'s timestamps as parseTimeMs does', () => {
    for (const t of ['2026-01-01T00:00:00.000Z', '2024-02-29T23:59:59.999Z', '1970-01-01T00:00:00.000Z', '2026-11-30T14:55:20.587Z', '2026-13-01T00:00:00.000Z', '2026-01-01T24:00:00.000Z', 'x026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.123456Z', '2026-01-01 00:00:00.123', ''])
      expect(apiTimeMs(t)).toEqual(parseTimeMs(t));
  });

  it('builds the same tree a step at a time as at once (a large tree is built between frames)', () => {
    const list = spans([['root', 0], ['a', 1], ['a1', 2], ['a2', 2], ['b', 1], ['lost', 0, { orphan: true }], ['lost1', 1], ['c', 1]]);
    const steps = treeSteps(list, 3);
    let yields = 0;
    let step = steps.next();
    for (; !step.done; step = steps.next()) yields++;
    expect(yields).toBe(2);
    const whole = treeFromApiOrder(list);
    const names = (t: typeof whole) => t.nodes.map((n) => [n.span.name, n.level, n.end, n.childCount, n.parent?.span.name ?? null]);
    expect(names(step.value)).toEqual(names(whole));
    expect(step.value.detachedFrom).toBe(whole.detachedFrom);
    expect(step.value.orphanCount).toBe(1);
  });
});

describe('rows', () => {
  it('skips collapsed branches and puts one heading above the spans whose parent has not arrived', () => {
    const tree = treeFromApiOrder(spans([['o', 0, { orphan: true }], ['o1', 1], ['root', 0], ['a', 1], ['a1', 2]]));
    const none = repeatGroups(tree);
    const rows = displayRows(tree, none, { collapsed: new Set(['a'.padEnd(16, '0')]), openGroups: new Set() }).rows;
    expect(rows.map((r) => (r.kind === 'span' ? r.node.span.name : r.kind === 'detached' ? `detached ${r.tops}/${r.spans}` : r.kind))).toEqual(['root', 'a', 'detached 1/2', 'o', 'o1']);
  });
});

describe('parents that have not arrived', () => {
  const id = (name: string) => name.padEnd(16, '0').slice(0, 16);
  const under = (parent: string, extra: Partial<SpanView> = {}): Partial<SpanView> => ({ orphan: true, parentSpanId: id(parent), ...extra });
  // A running tree: the root arrived with one step; the looping agent (A) and a second step (B) have not, and
  // their calls came in whatever order they ended. One orphan names a parent that is there (a parent cycle).
  const tree = treeFromApiOrder(
    spans([
      ['root', 0],
      ['step', 1],
      ['a-call1', 0, under('agentA', { ...rollup(0.1, 100), callSignature: 'sigR', category: 'tool', toolName: 'run_tests' })],
      ['b-sub', 0, under('stepB', rollup(0.5, 50))],
      ['b-sub-1', 1, rollup(0.5, 50)],
      ['cycled', 0, under('step')],
      ['a-call2', 0, under('agentA', { ...rollup(0.1, 100), callSignature: 'sigR', category: 'tool', toolName: 'run_tests', running: true })],
      ['a-call3', 0, under('agentA', { ...rollup(0.1, 100), callSignature: 'sigR', category: 'tool', toolName: 'run_tests' })],
    ]),
  );

  it('holds each one\'s branches together, one level in, with what they spent so far', () => {
    expect(tree.nodes.map((n) => `${n.span.name}@${n.level}`)).toEqual(['root@0', 'step@1', 'a-call1@1', 'a-call2@1', 'a-call3@1', 'b-sub@1', 'b-sub-1@2', 'cycled@0']);
    expect(tree.pendingParents.map((p) => [p.spanId, p.from, p.end, p.tops, p.rollup.spanCount, p.rollup.inputTokens, p.running])).toEqual([
      [id('agentA'), 2, 5, 3, 3, 300, 1],
      [id('stepB'), 5, 7, 1, 1, 50, 0],
    ]);
    expect(tree.pendingParents[0].rollup.costUsd).toBeCloseTo(0.3);
    expect(tree.pendingParents.every((p) => !p.killed)).toBe(true);
  });

  it('shows a row for each above its branches: foldable, found by its id, its repeated calls grouped under it', () => {
    const repeats = repeatGroups(tree);
    expect(repeats.groups.map((g) => [g.key, g.members.length])).toEqual([[`${id('agentA')}:sigR`, 3]]);
    const label = (r: ReturnType<typeof displayRows>['rows'][number]) =>
      r.kind === 'span' ? r.node.span.name : r.kind === 'parent' ? `parent ${r.parent.spanId.replace(/0+$/, '')}${r.collapsed ? ' (folded)' : ''}` : r.kind === 'group' ? `× ${r.group.members.length}` : r.kind;
    const open = displayRows(tree, repeats, { collapsed: new Set(), openGroups: new Set() });
    expect(open.rows.map(label)).toEqual(['root', 'step', 'detached', 'parent agentA', '× 3', 'parent stepB', 'b-sub', 'b-sub-1', 'cycled']);
    expect(open.rowOf.get(id('agentA'))).toBe(3);
    const folded = displayRows(tree, repeats, { collapsed: new Set([id('stepB')]), openGroups: new Set() });
    expect(folded.rows.map(label)).toEqual(['root', 'step', 'detached', 'parent agentA', '× 3', 'parent stepB (folded)', 'cycled']);
    // Revealing a span under one opens it (and the group the span is in).
    const bSub1 = tree.byId.get(id('b-sub-1'))!;
    expect(revealing(tree, bSub1, repeats)).toEqual({ expand: [id('b-sub'), id('stepB')], openGroups: [] });
    expect(revealing(tree, tree.byId.get(id('a-call2'))!, repeats)).toEqual({ expand: [id('agentA')], openGroups: [`${id('agentA')}:sigR`] });
  });

  it('is killed once every branch under it is covered by a kill of it', () => {
    const killedBy = { scope: 'branch' as const, spanId: id('stepB') };
    const killed = treeFromApiOrder(spans([['root', 0], ['b-sub', 0, under('stepB', { killed: true, killedBy })], ['b-sub-1', 1, { killed: true, killedBy }]]));
    expect(killed.pendingParents.map((p) => p.killed)).toEqual([true]);
  });
});

describe('hottest path', () => {
  it('follows the most expensive child down to a leaf, tokens deciding where nothing is priced', () => {
    const tree = treeFromApiOrder(
      spans([
        ['root', 0, rollup(1.0)],
        ['cheap', 1, rollup(0.1)],
        ['dear', 1, rollup(0.9)],
        ['dear-a', 2, rollup(0, 10)],
        ['dear-b', 2, rollup(0, 500)],
        ['dear-b-1', 3, rollup(0, 500)],
        ['late-root', 0, rollup(0.5)],
      ]),
    );
    expect(hottestPath(tree).map((n) => n.span.name)).toEqual(['root', 'dear', 'dear-b', 'dear-b-1']);
    expect(hottestPath(treeFromApiOrder([]))).toEqual([]);
  });
});

describe('search in the tree', () => {
  it('matches names, agents, tools, models, error types and id prefixes, ignoring case', () => {
    const tree = treeFromApiOrder(
      spans([
        ['invoke_agent Planner', 0, { agentName: 'Planner' }],
        ['chat', 1, { model: 'GPT-4o' }],
        ['execute_tool', 1, { toolName: 'Run_Tests', errorType: 'Timeout' }],
      ]),
    );
    const names = (q: string) => searchTree(tree, q).map((n) => n.span.name);
    expect(names('planner')).toEqual(['invoke_agent Planner']);
    expect(names('gpt-4O')).toEqual(['chat']);
    expect(names('run_tests')).toEqual(['execute_tool']);
    expect(names('timeout')).toEqual(['execute_tool']);
    expect(names('chat')).toEqual(['chat']);
    expect(names('  ')).toEqual([]);
  });
});

describe('trace numbers', () => {
  it('names a tree by its root, else by its earliest top span and its agent', () => {
    expect(treeName('invoke_agent Root', [])).toEqual({ name: 'invoke_agent Root', provisional: false });
    const s = spans([['late', 0, { startTime: iso(50) }], ['step', 0, { startTime: iso(10), agentName: 'Coder' }], ['child', 1, { startTime: iso(0) }]]);
    expect(treeName('', s)).toEqual({ name: 'Coder · step', provisional: true });
    expect(treeName('', spans([['invoke_agent Coder', 0, { agentName: 'Coder' }]]))).toEqual({ name: 'invoke_agent Coder', provisional: true });
    expect(treeName('', [])).toEqual({ name: '', provisional: true });
  });

  it('computes the burn rate over the tree’s life, up to now while it runs', () => {
    const base = { costUsd: 0.6, startTime: iso(0), lastSeen: iso(60_000), durationMs: 120_000 };
    expect(burnRatePerMin({ ...base, status: 'completed' }, T0 + 999_999)).toBeCloseTo(0.3);
    expect(burnRatePerMin({ ...base, status: 'running' }, T0 + 240_000)).toBeCloseTo(0.15);
    expect(burnRatePerMin({ ...base, costUsd: 0, status: 'completed' }, T0)).toBeNull();
    expect(burnRatePerMin({ ...base, durationMs: 200, lastSeen: iso(200), status: 'completed' }, T0)).toBeNull();
  });

  it('puts round time ticks on the waterfall and labels them for people', () => {
    expect(timeTicks(1000).ticks.map((t) => t.atMs)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(timeTicks(7300)).toMatchObject({ stepMs: 2000 });
    expect(timeTicks(7300).ticks.map((t) => Math.round(t.pct))).toEqual([0, 27, 55, 82]);
    expect(timeTicks(0).ticks).toHaveLength(1);
    // The tree's timeline column shows few enough ticks that their labels do not run into each other.
    expect(timeTicks(2100, TIMELINE_MAX_TICKS).ticks.map((t) => t.atMs)).toEqual([0, 1000, 2000]);
    expect([0, 0.5, 250, 1500, 60_000, 90_000, 5_400_000].map(tickLabel)).toEqual(['0', '500µs', '250ms', '1.5s', '1m', '1m30s', '1h30m']);
  });

  it('runs a running span up to now', () => {
    const [s] = spans([['live', 0, { running: true, startTime: iso(0), endTime: iso(0) }]]);
    expect(spanExtent(s, T0 + 4000)).toEqual({ startMs: T0, endMs: T0 + 4000 });
  });

  it('puts an alert on the span it names and on its evidence, worst first, resolved ones left out', () => {
    const alert = (id: string, severity: Alert['severity'], spanId: string, evidence: string[], status: Alert['status'] = 'open') =>
      ({ id, severity, spanId, status, title: id, rule: 'loop', evidence: { spanIds: evidence } }) as unknown as Alert;
    const by = alertsBySpan([alert('w', 'warning', 'a', ['b']), alert('c', 'critical', 'a', ['a', 'c']), alert('r', 'critical', 'z', [], 'resolved')]);
    expect(by.get('a')!.map((x) => x.id)).toEqual(['c', 'w']);
    expect(by.get('b')!.map((x) => x.id)).toEqual(['w']);
    expect(by.get('c')!.map((x) => x.id)).toEqual(['c']);
    expect(by.has('z')).toBe(false);
  });

  it('gives a bar its share, bounded', () => {
    expect(sharePct(1, 4)).toBe(25);
    expect(sharePct(5, 4)).toBe(100);
    expect(sharePct(1, 0)).toBe(0);
  });
});

describe('onboarding', () => {
  it('shows the OTLP port Canopy uses, else the UI’s own, and the simulator command for it', () => {
    const loc = { protocol: 'http:', hostname: '127.0.0.1', port: '3000' };
    expect(otlpEndpoint(loc, 4318)).toBe('http://127.0.0.1:4318');
    expect(otlpEndpoint(loc, 9318)).toBe('http://127.0.0.1:9318');
    expect(otlpEndpoint(loc, null)).toBe('http://127.0.0.1:3000');
    expect(otlpEndpoint({ protocol: 'http:', hostname: '[::1]', port: '3000' }, 4318)).toBe('http://[::1]:4318');
    expect(simulateCommand('http://127.0.0.1:4318', 'http://127.0.0.1:3000')).toBe('npm run simulate -- --scenario normal,loop,fanout');
    expect(simulateCommand('http://127.0.0.1:9318', 'http://127.0.0.1:8080')).toBe('npm run simulate -- --endpoint http://127.0.0.1:9318 --api http://127.0.0.1:8080 --scenario normal,loop,fanout');
    expect(simulateCommand('http://127.0.0.1:8080', 'http://127.0.0.1:8080')).toBe('npm run simulate -- --endpoint http://127.0.0.1:8080 --scenario normal,loop,fanout');
  });
});
