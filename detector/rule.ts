// What a rule is, and the helpers every rule shares: one finding per branch (the strongest wins), evidence
// with capped span ids, and the words titles are made of.
import { EVIDENCE_MAX_SPAN_IDS, severityRank, type AlertEvidence, type DetectorRule, type AlertSeverity, type RuleFinding } from '../lib/domain';
import type { RootBaseline } from './baseline';
import type { DetectorSettings } from './settings';
import { displayName, type TreeSnapshot } from './snapshot';

export interface RuleContext {
  settings: DetectorSettings;
  /**
   * The history this tree is judged against: its root name's (scope `rootName`) when that has enough
   * finished trees, else its service's (scope `service`), else null. A running tree's root name is not known
   * (the root span arrives last), so it gets its service's. `chooseBaseline` makes this choice. Spend
   * z-scores use only a root name's history; the shape limits and durations use either.
   */
  baseline: RootBaseline | null;
}

/** The baseline for a tree: its root name's history when trusted, else (with baseline.serviceFallback) its service's. */
export function chooseBaseline(rootName: RootBaseline | null | undefined, service: RootBaseline | null | undefined, settings: DetectorSettings): RootBaseline | null {
  const min = settings.baseline.minTrees;
  if (rootName && rootName.trees >= min) return rootName;
  if (settings.baseline.serviceFallback && service && service.trees >= min) return service;
  return null;
}

/** A rule: a pure function of one tree (and its history) to at most one finding per branch. */
export type Rule = (tree: TreeSnapshot, ctx: RuleContext) => RuleFinding[];

/** The baseline when it has enough history to be trusted, else null. */
export function trusted(b: RootBaseline | null | undefined, ctx: RuleContext): RootBaseline | null {
  return b && b.trees >= ctx.settings.baseline.minTrees ? b : null;
}

export function severityOf(value: number, warningAt: number, criticalAt: number): AlertSeverity | null {
  if (value >= criticalAt) return 'critical';
  if (value >= warningAt) return 'warning';
  return null;
}

/** Collects findings so that each branch keeps only its strongest (severity first, then how far past its threshold). */
export class FindingSet {
  // Made at the first finding: every rule makes a set for every tree, and most trees have none.
  private byBranch: Map<string, { finding: RuleFinding; score: number }> | null = null;

  constructor(private readonly rule: DetectorRule) {}

  add(spanId: string, severity: AlertSeverity, title: string, evidence: AlertEvidence): void {
    const score = severityRank(severity) * 1e6 + Math.min(evidence.value / Math.max(evidence.warningAt, 1e-9), 999_999);
    this.byBranch ??= new Map();
    const prev = this.byBranch.get(spanId);
    if (prev && prev.score >= score) return;
    this.byBranch.set(spanId, { finding: { rule: this.rule, severity, spanId, title, evidence }, score });
  }

  list(): RuleFinding[] {
    return this.byBranch ? [...this.byBranch.values()].map((e) => e.finding) : [];
  }
}

export function evidence(
  tree: TreeSnapshot,
  indexes: readonly number[],
  e: Omit<AlertEvidence, 'spanIds' | 'spanCount' | 'baseline' | 'details'> & Partial<Pick<AlertEvidence, 'baseline' | 'details'>>,
): AlertEvidence {
  const spanIds: string[] = [];
  for (let i = 0; i < indexes.length && spanIds.length < EVIDENCE_MAX_SPAN_IDS; i++) spanIds.push(tree.spans[indexes[i]].spanId);
  return {
    spanIds,
    spanCount: indexes.length,
    metric: e.metric,
    value: e.value,
    warningAt: e.warningAt,
    criticalAt: e.criticalAt,
    names: e.names,
    baseline: e.baseline ?? null,
    details: e.details ?? {},
  };
}

/** "CodingAgent" for a branch root: its agent name, tool name, else span name. */
export function branchName(tree: TreeSnapshot, index: number): string {
  return index >= 0 ? displayName(tree.spans[index]) : tree.rootName || 'the tree';
}

/** The span id of a branch root; a top whose parent never arrived is its own branch root. */
export function branchId(tree: TreeSnapshot, index: number): string {
  return index >= 0 ? tree.spans[index].spanId : tree.rootSpanId;
}

export function usd(x: number): string {
  if (x >= 100) return `$${x.toFixed(0)}`;
  if (x >= 0.995) return `$${x.toFixed(2)}`;
  return `$${x.toFixed(x >= 0.095 ? 2 : 3)}`;
}

export function tokens(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(x >= 1e7 ? 0 : 1)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(x >= 1e4 ? 0 : 1)}k`;
  return String(Math.round(x));
}

export function minutes(ms: number): string {
  const m = ms / 60_000;
  return m >= 10 ? `${m.toFixed(0)} min` : `${m.toFixed(1)} min`;
}

/** What a call calls, for titles: the tool's name, or the model's. */
export function callLabel(tree: TreeSnapshot, index: number): string {
  const s = tree.spans[index];
  if (s.category === 'tool') return s.toolName ?? s.name;
  return s.model ?? s.name;
}

/** The nearest agent span at or above each node (index, or -1), computed once per snapshot in pre-order. */
export function nearestAgents(tree: TreeSnapshot): Int32Array {
  const n = tree.spans.length;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    // A placeholder (a parent not received yet, typically the running agent) stands for its own agent.
    if (tree.spans[i].category === 'agent' || tree.placeholder[i]) out[i] = i;
    else out[i] = tree.parent[i] >= 0 ? out[tree.parent[i]] : -1;
  }
  return out;
}
