// Judging a tree where its spans already are: on the ingest worker that prepared the exports carrying it. Most
// requests end before their exporter's batch is sent, so one export holds the whole tree, root included; the
// rest end in the next export or few (an exporter sends on a timer or when its batch fills), so the worker
// keeps the spans of a tree whose root has not come for a while and adds the next exports' to them. Once the
// root comes it builds the tree from the rows it has just normalised and runs the rules there, before the tree
// is ever read back from storage. Reading each tree's spans from the engine, formatting and parsing them was
// most of what the detector cost per span. Whether a judgement made here stands for the stored tree is decided
// by the detector (stream-judgements.ts): only when the exports it was made from are all those that carried the
// tree lately, storage holds no other span of it, and it was judged against the history the detector would choose
// (or it is clean against that one too: judgement.ts, cleanUnder).
import type { SpanRow } from '../ingest/types';
import { historyKey, type RootBaseline } from './baseline';
import { judgeTree, type Judgement } from './judgement';
import type { DetectorSettings } from './settings';
import { chooseBaseline } from './rule';
import { buildSnapshot, detectorSpan, type DetectorSpan } from './snapshot';

/** What the detector lets the ingest workers judge with (published on its ticks). */
export interface StreamContext {
  /** Identifies the settings; a judgement made with others is not used. */
  settingsVersion: number;
  settings: DetectorSettings;
  /**
   * The histories the detector looked up (historyKey: a kind's, and a service's), each with an id, null when it
   * has none: a tree is judged against the one the detector chooses (`chooseBaseline`), and the judgement names
   * it by id. A kind or service not looked up yet is judged as having none (NO_HISTORY): in a fresh Canopy that
   * is what the detector finds too, so its first trees are not all read back from storage while the detector
   * looks their kinds up (at full ingest that took three ticks, ~170,000 spans). Where the detector does find a
   * history, the judgement names another than it would choose, and it reads the tree instead.
   */
  baselines: [string, KnownHistory][];
}

export interface KnownHistory {
  id: number;
  baseline: RootBaseline | null;
}

/** A kind the detector has not told of: judged as one with no history (id 0, as the detector names none). */
const NO_HISTORY: KnownHistory = { id: 0, baseline: null };

/**
 * Whether a history is its kind's own, trusted (at least `minTrees` finished trees). A judgement against such a
 * history stands while the detector trusts the kind's own history too: both are the history of the trees that
 * finished before this one, as known seconds apart (a few trees more or less in a trusted history). Against any
 * other (a service's, standing in for a kind short of trust), only while the detector would still choose that
 * very one: the tree that makes its kind trusted is judged against its own history.
 */
export function trustedOwnHistory(b: RootBaseline | null, settings: DetectorSettings): boolean {
  return b !== null && b.scope === 'rootName' && b.trees >= settings.baseline.minTrees;
}

/** One tree of an export: how many spans it had there, and its judgement when it was whole. */
export interface StreamTree {
  traceId: string;
  spans: number;
  judged: StreamJudged | null;
}

export interface StreamJudged {
  settingsVersion: number;
  serviceName: string;
  rootName: string;
  /** The history judged against (its KnownHistory id; 0: none), and whether it was the kind's own, trusted. */
  baselineId: number;
  ownTrusted: boolean;
  /** Spans in the tree judged (the detector compares it with the spans stored), and the exports they came in. */
  spans: number;
  exports: number;
  /** The earliest start of a span judged (ms, the exporter's clock): bounds when any of the tree was stored. */
  firstStartMs: number;
  lastSpanMs: number;
  judgement: Judgement;
}

/** An export's trees as `StreamJudge.take` keeps them: no row of the export is referenced. */
export type ExportTrees = ExportTree[];

interface ExportTree {
  traceId: string;
  count: number;
  candidate: Candidate | null;
}

interface Candidate {
  spans: DetectorSpan[];
  exports: number;
  budgetUsd: number | null;
  own: KnownHistory;
  service: KnownHistory;
}

/** One tree's part of an export, gathered in the one pass over its rows. */
interface Gathered {
  spans: DetectorSpan[];
  /** Its rows (all of them, judged or not). */
  count: number;
  roots: number;
  root: SpanRow | null;
  /** canopy.budget.usd of its first root that carried one, and the smallest any of its spans carried. */
  rootBudgetUsd: number | null;
  leastBudgetUsd: number | null;
  /** A row could not be made a detector span: the tree is read from storage. */
  broken: boolean;
}

/** The spans of a tree whose root has not come yet, from the exports that carried them. */
interface Held {
  spans: DetectorSpan[];
  exports: number;
  /** The smallest canopy.budget.usd its spans carried (attributeBudget: a root's would win, none has come). */
  budgetUsd: number | null;
}

/**
 * Held trees are kept for one to two generations (the detector remembers which exports carried a tree longer, so
 * a judgement it cannot account for is never used), and only so many spans: a tree too big, or past the total,
 * is read from storage instead.
 */
const HELD_GENERATION_MS = 30_000;
const HELD_TREE_SPANS = 5_000;
const HELD_SPANS = 50_000;

export class StreamJudge {
  private baselines: Map<string, KnownHistory>;
  private held = new Map<string, Held>();
  private heldBefore = new Map<string, Held>();
  private heldSpans = 0;
  private heldSince: number;

  constructor(
    private ctx: StreamContext,
    private readonly now: () => number = Date.now,
  ) {
    this.baselines = new Map(ctx.baselines);
    this.heldSince = now();
  }

  /** New settings or histories: what is held stays (its spans are the same whatever judges them). */
  update(ctx: StreamContext): void {
    this.ctx = ctx;
    this.baselines = new Map(ctx.baselines);
  }

  /**
   * What judging needs of an export's trees (ended spans only), taken from its rows at once: the rows (with their
   * attribute maps, the bulk of an export's memory) can then be collected before the trees are built, instead of
   * outliving every allocation of judging them (which promoted them to the old generation and tripled the cost).
   */
  take(rows: readonly SpanRow[]): ExportTrees {
    this.rotate();
    const byTrace = new Map<string, Gathered>();
    // Exporters send a tree's spans mostly together: a run of one trace is looked up once. Each row becomes the
    // detector's span here, in the one pass over the rows (no array of rows per tree, walked again).
    let run: Gathered | null = null;
    let runTrace = '';
    for (const r of rows) {
      if (run === null || r.trace_id !== runTrace) {
        runTrace = r.trace_id;
        run = byTrace.get(runTrace) ?? null;
        if (!run) byTrace.set(runTrace, (run = { spans: [], count: 0, roots: 0, root: null, rootBudgetUsd: null, leastBudgetUsd: null, broken: false }));
      }
      run.count++;
      if (run.broken) continue;
      try {
        run.spans.push(detectorSpan(r));
        if (r.parent_span_id === '') {
          run.roots++;
          run.root = r;
        }
        const b = r.budget_usd;
        if (b != null && b > 0) {
          if (r.parent_span_id === '') run.rootBudgetUsd ??= b;
          if (run.leastBudgetUsd === null || b < run.leastBudgetUsd) run.leastBudgetUsd = b;
        }
      } catch {
        // Not judged here: the detector reads the tree from storage. Its appearance is still reported.
        run.broken = true;
      }
    }
    const trees: ExportTree[] = [];
    for (const [traceId, gathered] of byTrace) {
      let candidate: Candidate | null = null;
      try {
        if (!gathered.broken) candidate = this.candidate(traceId, gathered);
      } catch {
        // (read from storage instead)
      }
      trees.push({ traceId, count: gathered.count, candidate });
    }
    return trees;
  }

  /** Each tree of the export: judged when its root came, with every span of it held here. */
  judge(trees: ExportTrees, nowMs: number): StreamTree[] {
    return trees.map(({ traceId, count, candidate }) => {
      let judged: StreamJudged | null = null;
      try {
        if (candidate) judged = this.judgeTree(traceId, candidate, nowMs);
      } catch {
        // (read from storage instead)
      }
      return { traceId, spans: count, judged };
    });
  }

  /**
   * The root decides whether a tree is worth building: present (the request ended), and one. A tree
   * whose root has not come is held, with what was held of it before, until an export brings the root.
   */
  private candidate(traceId: string, g: Gathered): Candidate | null {
    const held = this.held.get(traceId) ?? this.heldBefore.get(traceId);
    if (held) this.release(traceId, held);
    // The export's budget: its root's (canopy.budget.usd), else the smallest any of its spans carried.
    const budgetUsd = g.rootBudgetUsd ?? g.leastBudgetUsd;
    if (g.roots === 0) {
      this.hold(traceId, held, g.spans, budgetUsd);
      return null;
    }
    const root = g.root;
    if (g.roots > 1 || !root) return null; // two roots: not one request's tree
    const own = this.baselines.get(historyKey(root.service_name, root.name)) ?? NO_HISTORY;
    const service = this.baselines.get(historyKey(root.service_name, null)) ?? NO_HISTORY;
    const spans = g.spans;
    if (!held) return { spans, exports: 1, budgetUsd, own, service };
    for (const s of held.spans) spans.push(s);
    return { spans, exports: held.exports + 1, budgetUsd: g.rootBudgetUsd !== null ? budgetUsd : least(budgetUsd, held.budgetUsd), own, service };
  }

  private hold(traceId: string, held: Held | undefined, spans: DetectorSpan[], budgetUsd: number | null): void {
    const total = (held?.spans.length ?? 0) + spans.length;
    // Past a bound the tree is read from storage: what was held of it is dropped, so no later judgement here
    // can look whole without it.
    if (total > HELD_TREE_SPANS || this.heldSpans + total > HELD_SPANS) return;
    let kept = spans;
    if (held) {
      kept = held.spans;
      for (const s of spans) kept.push(s);
    }
    this.held.set(traceId, { spans: kept, exports: (held?.exports ?? 0) + 1, budgetUsd: least(budgetUsd, held?.budgetUsd ?? null) });
    this.heldSpans += total;
  }

  private release(traceId: string, held: Held): void {
    this.held.delete(traceId);
    this.heldBefore.delete(traceId);
    this.heldSpans -= held.spans.length;
  }

  private rotate(): void {
    const t = this.now();
    if (t - this.heldSince < HELD_GENERATION_MS) return;
    for (const h of this.heldBefore.values()) this.heldSpans -= h.spans.length;
    this.heldBefore = this.held;
    this.held = new Map();
    this.heldSince = t;
  }

  private judgeTree(traceId: string, c: Candidate, nowMs: number): StreamJudged | null {
    const { own, service } = c;
    const baseline = chooseBaseline(own.baseline, service.baseline, this.ctx.settings);
    const baselineId = baseline === null ? 0 : baseline === own.baseline ? own.id : service.id;
    const tree = buildSnapshot(c.spans, { traceId, now: nowMs });
    // Whole: one top (the root), no parent missing. Otherwise part of it came, or comes, in another export.
    if (tree.running || tree.spans.length !== c.spans.length) return null;
    for (let i = 0; i < tree.parent.length; i++) if (tree.parent[i] < 0 && i !== tree.root) return null;
    let firstStart = Infinity;
    for (const s of c.spans) if (s.start < firstStart) firstStart = s.start;
    return {
      settingsVersion: this.ctx.settingsVersion,
      serviceName: tree.serviceName,
      rootName: tree.rootName,
      baselineId,
      ownTrusted: trustedOwnHistory(baseline, this.ctx.settings),
      spans: c.spans.length,
      exports: c.exports,
      firstStartMs: firstStart / 1000,
      lastSpanMs: tree.lastSpanMs,
      judgement: judgeTree(tree, c.budgetUsd, baseline, this.ctx.settings),
    };
  }
}

function least(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}
