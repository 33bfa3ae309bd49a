// loop: an agent redoing the same call. The same call signature (tool + canonical arguments, or model +
// prompt) several times in a row on one branch, or many times by the same agent anywhere in the tree, or
// the same call failing the same way again and again. Calls that recorded no arguments or prompt have no
// comparable signature (snapshot.callSignature is null) and never count: three chat calls of one model
// without captured content are not a loop.
import { type AlertSeverity } from '../../lib/domain';
import { branchId, branchName, callLabel, evidence, FindingSet, nearestAgents, severityOf, type Rule } from '../rule';
import { commonAncestor, type TreeSnapshot } from '../snapshot';

interface Candidate {
  branch: number; // node index of the branch root (-1: the tree, when occurrences span orphaned tops)
  signature: string;
  /** Occurrences, in time order. */
  indexes: number[];
  inARow: number;
  byAgent: number;
  failures: number;
  errorType: string | null;
}

/** A call counts as "again" only when it starts after the previous one ended: parallel duplicates are fan-out, not a loop. */
const OVERLAP_TOLERANCE_US = 1_000; // span times are µs

export const loopRule: Rule = (tree, ctx) => {
  const cfg = ctx.settings.loop;
  if (!cfg.enabled || tree.spans.length === 0) return [];
  // The maps below are made when first needed: most trees repeat nothing and fail nothing.
  let candidates: Map<string, Candidate> | null = null;
  consecutiveRuns(tree, cfg.consecutive, (branch, signature, run) => {
    const c = candidate((candidates ??= new Map()), branch, signature, run);
    c.inARow = Math.max(c.inARow, run.length);
  });

  // The same call by the same agent (by name) anywhere: one agent looping through sub-agents it respawns,
  // or recursing into itself. Different agents making the same lookup is duplication, not a loop.
  // Grouped by signature first: most signatures occur once, and only those repeated often enough are split by
  // agent (a key of agent and signature for every call cost more than the rest of the rule).
  // A signature seen once holds its index; an array only from its second occurrence (most occur once).
  const bySignature = new Map<string, number | number[]>();
  let failing: Map<string, number[]> | null = null;
  for (let i = 0; i < tree.spans.length; i++) {
    const s = tree.spans[i];
    if (s.callSignature === null) continue;
    const seen = bySignature.get(s.callSignature);
    if (seen === undefined) bySignature.set(s.callSignature, i);
    else if (typeof seen === 'number') bySignature.set(s.callSignature, [seen, i]);
    else seen.push(i);
    if (s.status === 'error' && s.errorType !== 'killed') push((failing ??= new Map()), `${s.errorType ?? s.statusMessage}\0${s.callSignature}`, i);
  }
  const byAgent: number[][] = [];
  let agentOf: Int32Array | null = null;
  for (const list of bySignature.values()) {
    if (typeof list === 'number' || list.length < cfg.anywhere) continue;
    agentOf ??= nearestAgents(tree);
    const groups = new Map<string, number[]>();
    for (const i of list) {
      const a = agentOf[i];
      push(groups, a >= 0 ? (tree.spans[a].agentName ?? tree.spans[a].name) : '', i);
    }
    for (const group of groups.values()) byAgent.push(group);
  }
  for (const list of byAgent) {
    if (list.length < cfg.anywhere) continue;
    const seq = sequentialCalls(tree, list);
    if (seq.length < cfg.anywhere) continue;
    const c = candidate((candidates ??= new Map()), commonAncestor(tree, seq), tree.spans[seq[0]].callSignature as string, seq);
    c.byAgent = Math.max(c.byAgent, seq.length);
  }
  for (const list of failing?.values() ?? []) {
    if (list.length < cfg.sameFailure) continue;
    const c = candidate((candidates ??= new Map()), commonAncestor(tree, list), tree.spans[list[0]].callSignature as string, list);
    c.failures = Math.max(c.failures, list.length);
    c.errorType = tree.spans[list[0]].errorType;
  }

  // Assigned in `candidate`, where TypeScript's narrowing does not follow.
  const found = candidates as Map<string, Candidate> | null;
  if (!found) return [];
  const out = new FindingSet('loop');
  for (const c of found.values()) {
    const levels: { sev: AlertSeverity | null; value: number; warningAt: number; metric: string }[] = [
      { sev: severityOf(c.inARow, cfg.consecutive, cfg.critical), value: c.inARow, warningAt: cfg.consecutive, metric: 'identical calls in a row on one branch' },
      { sev: severityOf(c.byAgent, cfg.anywhere, cfg.critical), value: c.byAgent, warningAt: cfg.anywhere, metric: 'identical calls by one agent in the tree' },
      { sev: severityOf(c.failures, cfg.sameFailure, cfg.critical), value: c.failures, warningAt: cfg.sameFailure, metric: 'identical calls failing with the same error' },
    ];
    let best: (typeof levels)[number] | null = null;
    for (const l of levels) {
      if (!l.sev) continue;
      if (!best || (l.sev === 'critical' && best.sev !== 'critical') || (l.sev === best.sev && l.value / l.warningAt > best.value / best.warningAt)) best = l;
    }
    if (!best || !best.sev) continue;
    const first = tree.spans[c.indexes[0]];
    const label = callLabel(tree, c.indexes[0]);
    const under = branchName(tree, c.branch);
    const what = first.category === 'tool' ? 'with identical arguments' : 'with an identical prompt';
    const n = Math.max(c.inARow, c.byAgent);
    const title =
      best === levels[2]
        ? `${label} failed ${c.failures}× ${what} (${c.errorType ?? 'error'}) under ${under}`
        : `${label} called ${n}× ${what}${c.inARow === n ? ' in a row' : ''} under ${under}`;
    out.add(
      branchId(tree, c.branch),
      best.sev,
      title,
      evidence(tree, c.indexes, {
        metric: best.metric,
        value: best.value,
        warningAt: best.warningAt,
        criticalAt: cfg.critical,
        names: [first.toolName ?? first.model ?? first.name, ...(c.branch >= 0 && c.branch !== c.indexes[0] ? [under] : [])],
        details: {
          callSignature: c.signature,
          kind: first.category,
          inARow: c.inARow,
          byOneAgent: c.byAgent,
          failures: c.failures,
          errorType: c.errorType,
        },
      }),
    );
  }
  return out.list();
};

/**
 * Runs of the same signature among one parent's tool calls, and separately among its model calls (an
 * agent thinks between actions: run_tests, think, run_tests is two run_tests in a row). Reports each run
 * of at least `min` once it ends.
 */
function consecutiveRuns(tree: TreeSnapshot, min: number, report: (branch: number, signature: string, run: number[]) => void): void {
  // Each kind's current run is kept in one array per tree, with its own count: the array is never truncated
  // (truncating an array drops its storage, and the next push allocated it again: most of this rule's garbage).
  const sig: (string | null)[] = [null, null];
  const count = [0, 0];
  const lastEnd = [-Infinity, -Infinity];
  const idx: number[][] = [[], []];
  for (let p = 0; p < tree.spans.length; p++) {
    const kids = tree.children[p];
    if (kids.length < min) continue;
    sig[0] = sig[1] = null;
    count[0] = count[1] = 0;
    for (let k = 0; k < kids.length; k++) {
      const c = kids[k];
      const s = tree.spans[c];
      const r = s.category === 'tool' ? 0 : s.category === 'llm' || s.category === 'embedding' ? 1 : -1;
      if (r < 0) continue;
      if (s.callSignature !== null && s.callSignature === sig[r]) {
        if (s.start + OVERLAP_TOLERANCE_US >= lastEnd[r]) idx[r][count[r]++] = c;
        lastEnd[r] = Math.max(lastEnd[r], s.end);
        continue;
      }
      const run = sig[r];
      if (run !== null && count[r] >= min) report(p, run, idx[r].slice(0, count[r]));
      sig[r] = s.callSignature;
      count[r] = 0;
      if (s.callSignature !== null) idx[r][count[r]++] = c;
      lastEnd[r] = s.end;
    }
    for (let r = 0; r < 2; r++) {
      const run = sig[r];
      if (run !== null && count[r] >= min) report(p, run, idx[r].slice(0, count[r]));
    }
  }
}

/** The most occurrences that ran one after another (greedy interval scheduling, by end time). */
export function sequentialCalls(tree: TreeSnapshot, list: readonly number[]): number[] {
  const byEnd = [...list].sort((a, b) => tree.spans[a].end - tree.spans[b].end);
  const out: number[] = [];
  let lastEnd = -Infinity;
  for (const i of byEnd) {
    const s = tree.spans[i];
    if (s.start + OVERLAP_TOLERANCE_US >= lastEnd) {
      out.push(i);
      lastEnd = s.end;
    }
  }
  return out.sort((a, b) => tree.spans[a].start - tree.spans[b].start);
}

/**
 * The candidate for this branch and signature, made on its first finding (a module function, not a closure made per
 * tree: the server runs under tsx, whose keepNames names every closure made, ~0.3 µs each).
 */
function candidate(candidates: Map<string, Candidate>, branch: number, signature: string, indexes: number[]): Candidate {
  const key = `${branch}\0${signature}`;
  let c = candidates.get(key);
  if (!c) candidates.set(key, (c = { branch, signature, indexes, inARow: 0, byAgent: 0, failures: 0, errorType: null }));
  else if (indexes.length > c.indexes.length) c.indexes = indexes;
  return c;
}

function push(m: Map<string, number[]>, key: string, i: number): void {
  const l = m.get(key);
  if (l) l.push(i);
  else m.set(key, [i]);
}
