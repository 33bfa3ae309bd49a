// One built tree judged: its findings, its history numbers once it has finished, and what its budget is checked
// against. The same step wherever the tree was built: on the judge thread from stored rows, or on an ingest
// worker from the export that carried the whole tree (stream-judge.ts).
import type { RuleFinding } from '../lib/domain';
import { treeStats, type RootBaseline, type TreeStats } from './baseline';
import { evaluateTree } from './index';
import { contextBloatQuiet } from './rules/context-bloat';
import { costSpikeQuiet } from './rules/cost-spike';
import { fanoutQuiet } from './rules/fanout';
import type { DetectorSettings } from './settings';
import type { TreeSnapshot } from './snapshot';

export interface Judgement {
  findings: RuleFinding[];
  /** The finished tree's history numbers; null while it runs. */
  stats: TreeStats | null;
  /** What a budget is checked against: the tree's spend, each model call once, and where a finding points. */
  spend: TreeSpend;
}

export interface TreeSpend {
  costUsd: number;
  /** canopy.budget.usd from the root span, else the smallest any span (its resource) set; null when none did. */
  attributeBudgetUsd: number | null;
  rootSpanId: string;
  /** Counted model calls, for the evidence. */
  modelCalls: number;
}

export function judgeTree(tree: TreeSnapshot, attributeBudgetUsd: number | null, baseline: RootBaseline | null, settings: DetectorSettings): Judgement {
  return {
    findings: evaluateTree(tree, { settings, baseline }),
    stats: tree.running ? null : treeStats(tree),
    spend: { costUsd: tree.totals.costUsd, attributeBudgetUsd, rootSpanId: tree.rootSpanId, modelCalls: tree.totals.modelCalls },
  };
}

/**
 * Whether a finished tree judged against one history, and found clean, is clean against `baseline` (the trusted
 * history the detector chooses now, or null) too, without judging it again. Of the rules, only fanout,
 * context_bloat, cost_spike and stall read a history, and each compares numbers its history keeps per tree
 * (TreeStats) with limits the history sets; stall judges running trees only. So the answer is exact where it
 * says clean: the tree need not be read back because its kind's history moved on (a fresh Canopy's kinds gain
 * trust within seconds, and each change made every tree judged in the stream before it be read back).
 */
export function cleanUnder(j: Judgement, baseline: RootBaseline | null, settings: DetectorSettings): boolean {
  if (j.findings.length > 0 || !j.stats) return false;
  return fanoutQuiet(j.stats, baseline, settings) && contextBloatQuiet(j.stats, baseline, settings) && costSpikeQuiet(j.stats, baseline, settings);
}

/** The root span's canopy.budget.usd, else the smallest a span carries (set on its resource). */
export function attributeBudget(spans: readonly { parent_span_id: string; budget_usd?: number | null }[]): number | null {
  let least: number | null = null;
  for (const s of spans) {
    const b = s.budget_usd;
    if (b == null || !(b > 0)) continue;
    if (s.parent_span_id === '') return b;
    if (least === null || b < least) least = b;
  }
  return least;
}
