// What the settings page knows about the detector's rule settings (detector/settings.ts): sections, field
// labels, and how a 400's message maps onto fields. Pure: no React. The schema itself stays on the server; a
// field this list does not name still shows, under its own key.

export type SettingsDraft = Record<string, Record<string, unknown>>;

/** Threshold sections in the order the page shows them; `autoKill` has its own table. */
export const RULE_SECTIONS = ['loop', 'pingpong', 'fanout', 'retry_storm', 'context_bloat', 'cost_spike', 'stall', 'baseline'] as const;

export const SECTION_LABEL: Record<string, string> = {
  loop: 'Loop',
  pingpong: 'Ping-pong',
  fanout: 'Fan-out and depth',
  retry_storm: 'Retry storm',
  context_bloat: 'Context bloat',
  cost_spike: 'Cost spike and overrun',
  stall: 'Stall',
  baseline: 'Baselines (all rules)',
};

/** Short labels; the help says what the number is compared with (docs/DETECTION.md has the reasoning). */
export const FIELD_INFO: Record<string, { label: string; help?: string }> = {
  'loop.consecutive': { label: 'Same call in a row', help: 'The same call signature this many times in a row on one branch' },
  'loop.anywhere': { label: 'Same call anywhere', help: 'The same call by the same agent this many times anywhere in the tree' },
  'loop.critical': { label: 'Critical at', help: 'Either count reaching this is critical' },
  'loop.sameFailure': { label: 'Same failure', help: 'The same call failing the same way this many times' },
  'pingpong.minCycle': { label: 'Shortest cycle', help: 'Agents or calls in the shortest cycle looked for (A→B is 2)' },
  'pingpong.maxCycle': { label: 'Longest cycle' },
  'pingpong.repeats': { label: 'Repeats (warning)', help: 'Full repetitions of the cycle' },
  'pingpong.critical': { label: 'Repeats (critical)' },
  'pingpong.agents': { label: 'Between agents' },
  'pingpong.signatures': { label: 'Between calls' },
  'fanout.minChildren': { label: 'Children at least', help: 'A span with more children than max(this, factor × the usual p99)' },
  'fanout.childrenFactor': { label: 'Children × p99' },
  'fanout.maxDepth': { label: 'Depth at least', help: 'Depth past max(this, factor × the usual p99)' },
  'fanout.depthFactor': { label: 'Depth × p99' },
  'fanout.growthFactor': { label: 'Growth × p99', help: 'Spans per minute past this multiple of the usual p99' },
  'fanout.growthMinSpans': { label: 'Growth judged from', help: 'Spans a tree needs before its growth is judged' },
  'fanout.criticalFactor': { label: 'Critical × limit' },
  'retry_storm.branchErrors': { label: 'Failures on a branch', help: 'Failures of one error class under one parent' },
  'retry_storm.branchCritical': { label: 'Critical at' },
  'retry_storm.retryBudget': { label: 'Retry budget (share)', help: 'Retries above this share of the tree’s calls (0–1)' },
  'retry_storm.minRetries': { label: 'Retries at least' },
  'retry_storm.treeCritical': { label: 'Tree critical at' },
  'retry_storm.errorClasses': { label: 'Error classes counted' },
  'context_bloat.risingCalls': { label: 'Rising calls', help: 'Input tokens strictly rising over this many sequential calls' },
  'context_bloat.risingMinGrowth': { label: 'Growth at least ×' },
  'context_bloat.risingMinTokens': { label: 'Last call at least', help: 'Input tokens of the last rising call' },
  'context_bloat.callTokens': { label: 'One call at least', help: 'Input tokens of one call, or factor × the usual p99' },
  'context_bloat.callFactor': { label: 'One call × p99' },
  'context_bloat.criticalFactor': { label: 'Critical × limit' },
  'cost_spike.zThreshold': { label: 'Robust z (warning)', help: 'Robust z-score of the tree’s spend against its root name’s history' },
  'cost_spike.criticalZ': { label: 'Robust z (critical)' },
  'cost_spike.p99Factor': { label: 'And × p99', help: 'The spend must also pass this multiple of the history’s p99' },
  'cost_spike.logScale': { label: 'Judge log spend' },
  'cost_spike.madFloorRatio': { label: 'MAD floor (share of median)' },
  'cost_spike.minCostUsd': { label: 'Ignore trees under (USD)' },
  'cost_spike.minTokens': { label: 'Tokens judged from' },
  'cost_spike.overrunFactor': { label: 'Overrun × p99 duration' },
  'cost_spike.overrunCritical': { label: 'Overrun critical × p99' },
  'cost_spike.ewmaLambda': { label: 'Service chart λ' },
  'cost_spike.ewmaK': { label: 'Service chart k (σ)' },
  'cost_spike.ewmaBucketMinutes': { label: 'Service bucket (min)' },
  'cost_spike.ewmaMinBuckets': { label: 'Service history (buckets)' },
  'stall.idleMinutes': { label: 'Idle at least (min)', help: 'No new span for max(this, factor × the usual p99 duration)' },
  'stall.durationFactor': { label: 'Idle × p99 duration' },
  'stall.criticalFactor': { label: 'Critical × limit' },
  'baseline.minTrees': { label: 'History trusted from (trees)', help: 'Finished trees of a root name before its history is used' },
  'baseline.serviceFallback': { label: 'Fall back to the service' },
};

export function fieldLabel(section: string, key: string): string {
  return FIELD_INFO[`${section}.${key}`]?.label ?? key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());
}

/**
 * A 400's message ("loop.consecutive: Too small: expected number to be >=2; loop.critical: …") as messages per
 * field path ("loop.consecutive"). The backtest names the same fields under `rules.`; an array item's error
 * belongs to its array's field. Text that names no field lands under "".
 */
export function fieldErrors(message: string): Record<string, string> {
  const out: Record<string, string> = {};
  const parts = message.split(/;\s(?=(?:[\w$-]+\.)*[\w$-]+: |\(body\): )/);
  for (const part of parts) {
    const m = /^((?:[\w$-]+\.)*[\w$-]+|\(body\)): ([\s\S]*)$/.exec(part.trim());
    let path = m ? m[1] : '';
    const text = m ? m[2] : part.trim();
    if (path === '(body)') path = '';
    path = path.replace(/^rules\./, '').replace(/\.\d+$/, '');
    if (!text) continue;
    out[path] = out[path] ? `${out[path]}; ${text}` : text;
  }
  return out;
}

/** The field paths ("loop.consecutive") whose values differ between two settings objects, autoKill's too. */
export function changedFields(saved: SettingsDraft, draft: SettingsDraft): string[] {
  const out: string[] = [];
  for (const section of Object.keys(draft)) {
    const a = saved[section] ?? {};
    const b = draft[section] ?? {};
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) out.push(`${section}.${key}`);
    }
  }
  return out;
}

/** Whether any threshold (not an auto-kill policy) changed: those are what a backtest can judge. */
export function thresholdsChanged(changed: readonly string[]): boolean {
  return changed.some((p) => !p.startsWith('autoKill.'));
}

/** The rule sections among the changed fields: the backtest rows worth showing (baseline changes touch all). */
export function changedRules(changed: readonly string[], rules: readonly string[]): string[] {
  const sections = new Set(changed.map((p) => p.split('.')[0]));
  if (sections.has('baseline')) return [...rules];
  return rules.filter((r) => sections.has(r));
}
