// Judging a tree where its spans already are: on the ingest worker that prepared the export carrying it. Most
// requests end before their exporter's batch is sent, so one export holds the whole tree, root included; the
// worker builds it from the rows it has just normalised and runs the rules there, before the tree is ever read
// back from storage. Reading each tree's spans from the engine, formatting and parsing them was most of what
// the detector cost per span. Whether a judgement made here stands for the stored tree is decided by the
// detector (stream-judgements.ts): only when this export was the only one to carry the tree, storage holds no
// other span of it, and it was judged against the history the detector would choose.
import type { SpanRow } from '../ingest/types';
import { baselineKey, type RootBaseline } from './baseline';
import { attributeBudget, judgeTree, type Judgement } from './judgement';
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
   * has none: a tree is judged here once both its kind's and its service's are known, against the one the
   * detector chooses (`chooseBaseline`), and the judgement names it by id.
   */
  baselines: [string, KnownHistory][];
}

export interface KnownHistory {
  id: number;
  baseline: RootBaseline | null;
}

/**
 * Whether a kind's own history is settled: twice what makes it trusted, so one tree more or less moves it
 * little. A judgement against a settled history stands while the detector's is settled too; against any other,
 * only while the detector would still choose that very one.
 */
export function settledHistory(b: RootBaseline | null, settings: DetectorSettings): boolean {
  return b !== null && b.scope === 'rootName' && b.trees >= 2 * settings.baseline.minTrees;
}

/** A kind's history (its service and root name), or with a null root name its service's. */
export function historyKey(serviceName: string, rootName: string | null): string {
  return rootName === null ? `s\0${serviceName}` : `r\0${baselineKey(serviceName, rootName)}`;
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
  /** The history judged against (its KnownHistory id; 0: none), and whether it was a settled one. */
  baselineId: number;
  settled: boolean;
  /** Spans in the tree judged (the detector compares it with the spans stored). */
  spans: number;
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
  budgetUsd: number | null;
  own: KnownHistory;
  service: KnownHistory;
}

export class StreamJudge {
  private readonly baselines: Map<string, KnownHistory>;

  constructor(private ctx: StreamContext) {
    this.baselines = new Map(ctx.baselines);
  }

  /**
   * What judging needs of an export's trees (ended spans only), taken from its rows at once: the rows (with their
   * attribute maps, the bulk of an export's memory) can then be collected before the trees are built, instead of
   * outliving every allocation of judging them (which promoted them to the old generation and tripled the cost).
   */
  take(rows: readonly SpanRow[]): ExportTrees {
    const byTrace = new Map<string, SpanRow[]>();
    for (const r of rows) {
      const list = byTrace.get(r.trace_id);
      if (list) list.push(r);
      else byTrace.set(r.trace_id, [r]);
    }
    const trees: ExportTree[] = [];
    for (const [traceId, spans] of byTrace) {
      let candidate: Candidate | null = null;
      try {
        candidate = this.candidate(spans);
      } catch {
        // Not judged here: the detector reads the tree from storage. Its appearance is still reported.
      }
      trees.push({ traceId, count: spans.length, candidate });
    }
    return trees;
  }

  /** Each tree of the export, judged when the export holds all of it and its kind's history is known. */
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

  /** The root decides whether a tree is worth building: present (the request ended), one, of a known kind. */
  private candidate(rows: readonly SpanRow[]): Candidate | null {
    let root: SpanRow | null = null;
    for (const r of rows) {
      if (r.parent_span_id !== '') continue;
      if (root) return null; // two roots: not one request's tree
      root = r;
    }
    if (!root) return null;
    const own = this.baselines.get(historyKey(root.service_name, root.name));
    const service = this.baselines.get(historyKey(root.service_name, null));
    if (!own || !service) return null;
    return { spans: rows.map(detectorSpan), budgetUsd: attributeBudget(rows), own, service };
  }

  private judgeTree(traceId: string, c: Candidate, nowMs: number): StreamJudged | null {
    const { own, service } = c;
    const baseline = chooseBaseline(own.baseline, service.baseline, this.ctx.settings);
    const baselineId = baseline === null ? 0 : baseline === own.baseline ? own.id : service.id;
    const tree = buildSnapshot(c.spans, { traceId, now: nowMs });
    // Whole: one top (the root), no parent missing. Otherwise part of it came, or comes, in another export.
    if (tree.running || tree.nodes.length !== c.spans.length) return null;
    for (let i = 0; i < tree.parent.length; i++) if (tree.parent[i] < 0 && i !== tree.root) return null;
    return {
      settingsVersion: this.ctx.settingsVersion,
      serviceName: tree.serviceName,
      rootName: tree.rootName,
      baselineId,
      settled: settledHistory(baseline, this.ctx.settings),
      spans: c.spans.length,
      lastSpanMs: tree.lastSpanMs,
      judgement: judgeTree(tree, c.budgetUsd, baseline, this.ctx.settings),
    };
  }
}
