// The backtest: proposed rule settings replayed over the trees stored in a time range, compared with the
// settings in force, without writing anything (no alerts, no history). Each tree is judged once, finished as
// stored, by the live detector's own functions (buildSnapshot, chooseBaseline, evaluateTree) against the
// stored baselines, so "would have flagged" means what the detector would say about it now.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { DETECTOR_RULES, severityRank, type DetectorRule, type AlertSeverity, type RuleFinding } from '../lib/domain';
import type { Storage } from '../lib/server/storage/storage';
import { treesInRange, type TreeInRange, type TreeRangePage } from '../lib/server/queries/tree-range';
import { spansOfTrees } from '../lib/server/queries/tree-spans';
import type { RootBaseline } from './baseline';
import { StoredHistory } from './history';
import { evaluateTree, RULES } from './index';
import { chooseBaseline } from './rule';
import type { DetectorSettings } from './settings';
import { loadRuleSettings } from './settings-store';
import { buildSnapshot, detectorSpan, type StoredSpanFields, type TreeSnapshot } from './snapshot';

/** The work one backtest may do: past either bound it stops and says `truncated`. */
export const BACKTEST_MAX_TREES = 50_000;
export const BACKTEST_MAX_SPANS = 2_000_000;
const EXAMPLES = 10;
const PAGE_TREES = 5_000;
/**
 * One span read. Its rows are parsed in one go on the event loop (~5 µs a span on a busy machine), so a read
 * stays small enough not to hold ingest up for long; the engine reads 20k spans about as fast per span as 100k.
 */
const SPANS_PER_READ = 20_000;
const TREES_PER_READ = 500;

export interface BacktestReaders {
  treesInRange(page: TreeRangePage): Promise<TreeInRange[]>;
  spansOfTrees(traceIds: readonly string[]): Promise<Map<string, StoredSpanFields[]>>;
  rootNameBaseline(service: string, rootName: string): Promise<RootBaseline | null>;
  serviceBaseline(service: string): Promise<RootBaseline | null>;
}

export interface BacktestOptions {
  proposed: DetectorSettings;
  current: DetectorSettings;
  sinceMs: number;
  untilMs: number;
  /** The judging clock (ms): what a running tree's idle time is measured against. */
  now: number;
  maxTrees?: number;
  maxSpans?: number;
  signal?: AbortSignal;
}

export interface BacktestExample {
  traceId: string;
  rootName: string;
  severity: AlertSeverity;
  title: string;
  spanId: string;
}

export interface RuleOutcome {
  trees: number;
  warning: number;
  critical: number;
}

export interface RuleBacktest {
  proposed: RuleOutcome;
  current: RuleOutcome;
  /** Trees flagged under the proposed settings and not under the current ones (the first 10; count apart). */
  added: BacktestExample[];
  removed: BacktestExample[];
  addedTrees: number;
  removedTrees: number;
}

export interface BacktestResult {
  since: string;
  until: string;
  rules: Record<DetectorRule, RuleBacktest>;
  treesJudged: number;
  spansJudged: number;
  ms: number;
  truncated: boolean;
}

/** Replays both settings over the trees in range; reads through `readers` only. */
export async function runBacktest(readers: BacktestReaders, opts: BacktestOptions): Promise<BacktestResult> {
  const started = performance.now();
  const maxTrees = opts.maxTrees ?? BACKTEST_MAX_TREES;
  const maxSpans = opts.maxSpans ?? BACKTEST_MAX_SPANS;
  const rules = Object.fromEntries(DETECTOR_RULES.map((r) => [r, emptyRule()])) as Record<DetectorRule, RuleBacktest>;
  const out: BacktestResult = { since: iso(opts.sinceMs), until: iso(opts.untilMs), rules, treesJudged: 0, spansJudged: 0, ms: 0, truncated: false };
  const rejudge = rulesToRejudge(opts.proposed, opts.current);
  const baselines = memoBaselines(readers);

  // Batches in trace-id order; the next batch's spans are read while this one is judged.
  const batches = plan(readers, opts, maxTrees, maxSpans, () => (out.truncated = true));
  const load = (batch: TreeInRange[]) => {
    const p = readers.spansOfTrees(batch.map((t) => t.traceId)).then((spans) => ({ batch, spans }));
    p.catch(() => undefined); // awaited below; a failure while the previous batch is judged must not go unhandled
    return p;
  };
  let next = await batches.next();
  let pending = next.done ? null : load(next.value);
  while (pending) {
    const { batch, spans } = await pending;
    next = await batches.next();
    pending = next.done ? null : load(next.value);
    for (const t of batch) {
      if (opts.signal?.aborted) throw new Error('The backtest was cancelled');
      const rows = spans.get(t.traceId);
      if (!rows) continue; // expired since the page was read
      const tree = buildSnapshot(rows.map(detectorSpan), { traceId: t.traceId, now: opts.now, lastSeenMs: t.lastSeenMs });
      // Yield between trees: ingest and the API keep answering while a backtest runs.
      await yieldToLoop();
      const [root, service] = await Promise.all([
        tree.rootName ? baselines.rootName(tree.serviceName, tree.rootName) : null,
        baselines.service(tree.serviceName),
      ]);
      const proposed = evaluateTree(tree, { settings: opts.proposed, baseline: chooseBaseline(root, service, opts.proposed) });
      const current = judgeCurrent(tree, proposed, rejudge, opts.current, chooseBaseline(root, service, opts.current));
      tally(rules, tree, proposed, current);
      out.treesJudged++;
      out.spansJudged += rows.length;
      await yieldToLoop();
    }
  }
  out.ms = Math.round(performance.now() - started);
  return out;
}

/** The storage side: stored trees, spans and baselines; `current` defaults to the settings in force. */
export async function backtestStored(
  storage: Storage,
  opts: Omit<BacktestOptions, 'current' | 'now'> & { current?: DetectorSettings; now?: number },
): Promise<BacktestResult> {
  const current = opts.current ?? (await loadRuleSettings(storage));
  const now = opts.now ?? Date.now();
  const history = new StoredHistory(storage.client, () => current.baseline.minTrees, () => now);
  return runBacktest(
    {
      treesInRange: (page) => treesInRange(storage.client, page, { signal: opts.signal }),
      spansOfTrees: (ids) => spansOfTrees(storage.client, ids, { signal: opts.signal }),
      rootNameBaseline: (service, rootName) => history.rootName(service, rootName),
      serviceBaseline: (service) => history.service(service),
    },
    { ...opts, current, now },
  );
}

/** Pages of trees in range grouped into span reads, within the bounds (`onTruncate` once past one). */
async function* plan(readers: BacktestReaders, opts: BacktestOptions, maxTrees: number, maxSpans: number, onTruncate: () => void): AsyncGenerator<TreeInRange[]> {
  let afterId = '';
  let trees = 0;
  let spans = 0;
  let batch: TreeInRange[] = [];
  let batchSpans = 0;
  for (;;) {
    const page = await readers.treesInRange({ fromMs: opts.sinceMs, toMs: opts.untilMs, afterId, limit: PAGE_TREES });
    for (const t of page) {
      if (trees >= maxTrees || spans + t.spans > maxSpans) {
        onTruncate();
        if (batch.length > 0) yield batch;
        return;
      }
      if (batch.length > 0 && (batch.length >= TREES_PER_READ || batchSpans + t.spans > SPANS_PER_READ)) {
        yield batch;
        batch = [];
        batchSpans = 0;
      }
      batch.push(t);
      batchSpans += t.spans;
      trees++;
      spans += t.spans;
    }
    if (page.length < PAGE_TREES) break;
    afterId = page[page.length - 1].traceId;
  }
  if (batch.length > 0) yield batch;
}

/**
 * The rules whose outcome can differ between the two settings: each rule reads only its own section and the
 * baseline section, so a rule whose sections are equal gives the same findings and is judged once.
 */
function rulesToRejudge(proposed: DetectorSettings, current: DetectorSettings): DetectorRule[] {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (!same(proposed.baseline, current.baseline)) return [...DETECTOR_RULES];
  return DETECTOR_RULES.filter((r) => !same(proposed[r], current[r]));
}

function judgeCurrent(tree: TreeSnapshot, proposed: RuleFinding[], rejudge: readonly DetectorRule[], settings: DetectorSettings, baseline: RootBaseline | null): RuleFinding[] {
  if (rejudge.length === 0) return proposed;
  if (rejudge.length === DETECTOR_RULES.length) return evaluateTree(tree, { settings, baseline });
  const out = proposed.filter((f) => !rejudge.includes(f.rule));
  for (const r of rejudge) out.push(...RULES[r](tree, { settings, baseline }));
  return out;
}

/** Baselines as they are when the backtest starts: every tree of a kind is judged against the same history. */
function memoBaselines(readers: BacktestReaders) {
  const memo = new Map<string, Promise<RootBaseline | null>>();
  const get = (key: string, read: () => Promise<RootBaseline | null>) => memo.get(key) ?? memo.set(key, read()).get(key)!;
  return {
    rootName: (service: string, rootName: string) => get(`r\0${service}\0${rootName}`, () => readers.rootNameBaseline(service, rootName)),
    service: (service: string) => get(`s\0${service}`, () => readers.serviceBaseline(service)),
  };
}

/** Per rule, the tree's strongest finding (critical first, then the first found). */
function strongest(findings: readonly RuleFinding[]): Map<DetectorRule, RuleFinding> {
  const out = new Map<DetectorRule, RuleFinding>();
  for (const f of findings) {
    const prev = out.get(f.rule);
    if (!prev || severityRank(f.severity) > severityRank(prev.severity)) out.set(f.rule, f);
  }
  return out;
}

function tally(rules: Record<DetectorRule, RuleBacktest>, tree: TreeSnapshot, proposed: RuleFinding[], current: RuleFinding[]): void {
  const p = strongest(proposed);
  const c = strongest(current);
  const example = (f: RuleFinding): BacktestExample => ({ traceId: tree.traceId, rootName: tree.rootName, severity: f.severity, title: f.title, spanId: f.spanId });
  for (const [rule, f] of p) count(rules[rule].proposed, f.severity);
  for (const [rule, f] of c) count(rules[rule].current, f.severity);
  for (const [rule, f] of p) {
    if (c.has(rule)) continue;
    const r = rules[rule];
    r.addedTrees++;
    if (r.added.length < EXAMPLES) r.added.push(example(f));
  }
  for (const [rule, f] of c) {
    if (p.has(rule)) continue;
    const r = rules[rule];
    r.removedTrees++;
    if (r.removed.length < EXAMPLES) r.removed.push(example(f));
  }
}

function count(o: RuleOutcome, severity: AlertSeverity): void {
  o.trees++;
  o[severity]++;
}

function emptyRule(): RuleBacktest {
  return { proposed: { trees: 0, warning: 0, critical: 0 }, current: { trees: 0, warning: 0, critical: 0 }, added: [], removed: [], addedTrees: 0, removedTrees: 0 };
}

const iso = (ms: number) => new Date(ms).toISOString();
