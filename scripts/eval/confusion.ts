// The confusion table (scenario × rule) of the live evaluation, with the offline table's conventions
// (detector/testing/evaluate.ts formatResult): **bold** the rule that must catch the scenario, † a rule the
// scenario meets by construction (counted as correct), ✗ a wrong rule; precision and recall per rule counted
// the same way. Kept apart from the offline formatter so the offline section's output stays byte for byte.
import { DETECTOR_RULES, type DetectorRule } from '../../lib/domain';
import { caughtCell, pct, ruleCell, type Expectation } from '../../detector/testing/evaluate';

export interface ConfusionRow {
  expectation: Expectation;
  trees: number;
  /** Trees each rule raised an alert on. */
  fired: Record<DetectorRule, number>;
  /** Trees on which that rule's alert reached critical. */
  critical: Record<DetectorRule, number>;
  anyAlert: number;
  caught: number;
}

export interface RuleScore {
  tp: number;
  fp: number;
  fn: number;
  precision: number | null;
  recall: number | null;
}

export function emptyCounts(): Record<DetectorRule, number> {
  return Object.fromEntries(DETECTOR_RULES.map((r) => [r, 0])) as Record<DetectorRule, number>;
}

export function emptyRow(expectation: Expectation): ConfusionRow {
  return { expectation, trees: 0, fired: emptyCounts(), critical: emptyCounts(), anyAlert: 0, caught: 0 };
}

/** Adds one tree, given the rules that alerted on it and those that reached critical. */
export function recordTree(row: ConfusionRow, rules: ReadonlySet<DetectorRule>, critical: ReadonlySet<DetectorRule>): void {
  row.trees++;
  for (const rule of rules) row.fired[rule]++;
  for (const rule of critical) row.critical[rule]++;
  if (rules.size > 0) row.anyAlert++;
  if (row.expectation.right.some((r) => rules.has(r))) row.caught++;
}

/** Same arithmetic as the offline evaluation: recall per scenario whose first right rule this is. */
export function scoreRules(rows: readonly ConfusionRow[]): Record<DetectorRule, RuleScore> {
  const out = {} as Record<DetectorRule, RuleScore>;
  const counted = rows.filter((r) => !r.expectation.coldStart);
  for (const rule of DETECTOR_RULES) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let primaryTrees = 0;
    for (const r of counted) {
      const right = r.expectation.right.includes(rule) || r.expectation.alsoTrue.includes(rule);
      if (right) tp += r.fired[rule];
      else fp += r.fired[rule];
      if (r.expectation.right[0] === rule) {
        fn += r.trees - r.caught;
        primaryTrees += r.trees;
      }
    }
    out[rule] = { tp, fp, fn, precision: tp + fp > 0 ? tp / (tp + fp) : null, recall: primaryTrees > 0 ? (primaryTrees - fn) / primaryTrees : null };
  }
  return out;
}

/**
 * Markdown: the confusion table, then precision/recall per rule. `extra` adds trailing columns (the live run
 * puts detection latency there, where the offline table has "caught while running").
 */
export function formatConfusion(rows: readonly ConfusionRow[], extra: { headers: string[]; cells: (row: ConfusionRow) => string[] } = { headers: [], cells: () => [] }): string {
  const lines: string[] = [];
  const head = ['scenario', 'trees', ...DETECTOR_RULES, 'any alert', 'caught by right rule', ...extra.headers];
  lines.push(`| ${head.join(' | ')} |`);
  lines.push(`|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
  for (const r of rows) {
    if (r.trees === 0) continue;
    const e = r.expectation;
    const cells = DETECTOR_RULES.map((rule) => ruleCell(r, rule));
    const right = caughtCell(r);
    lines.push(`| ${[e.row, String(r.trees), ...cells, String(r.anyAlert), right, ...extra.cells(r)].join(' | ')} |`);
  }
  lines.push('');
  lines.push('| rule | trees flagged correctly | wrongly | missed | precision | recall |');
  lines.push('|---|---:|---:|---:|---:|---:|');
  const scores = scoreRules(rows);
  for (const rule of DETECTOR_RULES) {
    const p = scores[rule];
    lines.push(`| ${rule} | ${p.tp} | ${p.fp} | ${p.fn} | ${p.precision === null ? 'n/a' : pct(p.precision)} | ${p.recall === null ? 'n/a' : pct(p.recall)} |`);
  }
  return lines.join('\n');
}

export { pct };

/** Nearest-rank quantile (q in 0..1) of a non-empty list. */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
