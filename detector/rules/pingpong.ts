// pingpong: a cycle that keeps coming round. Agents taking turns (A→B→A→B… as sibling spans one after
// another, or nested in each other: A calls B calls A …), or one branch's calls cycling through the same
// few signatures (poll A, poll B, poll C, poll A, …). A cycle of length 1 is a loop, not a ping-pong.
// Every framework's detector reads one agent's history; the tree shows the cycle between agents.
import { branchId, branchName, evidence, FindingSet, severityOf, type Rule } from '../rule';
import type { TreeSnapshot } from '../snapshot';
import type { DetectorSettings } from '../settings';

/** Sibling turns are sequential: one starts after the previous ended (parallel siblings are a fan-out). */
const OVERLAP_TOLERANCE_US = 1_000; // span times are µs

/**
 * Tracks the longest periodic tail of a sequence for every cycle length: matches[p] counts consecutive
 * positions k with seq[k] = seq[k − p]; a tail of matches[p] + p elements is the cycle repeated
 * (matches[p] + p) / p times. `same` counts the tail of identical elements, to reject length-1 cycles.
 */
class CycleTracker {
  readonly matches: Int32Array;
  same = 0;
  constructor(readonly maxCycle: number) {
    this.matches = new Int32Array(maxCycle + 1);
  }
  reset(): void {
    this.matches.fill(0);
    this.same = 0;
  }
  copyFrom(o: CycleTracker): void {
    this.matches.set(o.matches);
    this.same = o.same;
  }
}

interface Cycle {
  length: number;
  repeats: number;
  /** Elements in the periodic tail (the cycle's turns so far). */
  window: number;
}

/** Advances `t` (the state after seq[0..k-1]) to include seq[k]. */
function advance<K>(t: CycleTracker, prev: CycleTracker | null, k: number, seq: readonly K[], minCycle: number): Cycle | null {
  const cur = seq[k];
  t.same = k >= 1 && seq[k - 1] === cur ? (prev ? prev.same : t.same) + 1 : 0;
  let best: Cycle | null = null;
  for (let p = 1; p <= t.maxCycle; p++) {
    const before = prev ? prev.matches[p] : t.matches[p];
    t.matches[p] = k >= p && seq[k - p] === cur ? before + 1 : 0;
    if (p < minCycle) continue;
    const window = t.matches[p] + p;
    if (t.same + 1 >= window) continue; // all one element: a loop
    const repeats = Math.floor(window / p);
    if (repeats >= 2 && (!best || repeats > best.repeats)) best = { length: p, repeats, window };
  }
  return best;
}

export const pingpongRule: Rule = (tree, ctx) => {
  const cfg = ctx.settings.pingpong;
  if (!cfg.enabled || tree.spans.length === 0) return [];
  const out = new FindingSet('pingpong');
  const t = new CycleTracker(cfg.maxCycle);
  // One sequence (and its keys) for every branch, with its own count: the arrays are reused, never truncated
  // (an array per branch and kind was most of what this rule allocated). advance reads keys[0 .. n) only.
  const seq: number[] = [];
  const keys: (string | number)[] = [];
  let n = 0;

  for (let p = 0; p < tree.spans.length; p++) {
    const kids = tree.children[p];
    if (kids.length < 2 * cfg.minCycle) continue;

    if (cfg.agents) {
      // Sibling agents taking turns, one after another.
      let best: { cycle: Cycle; end: number } | null = null;
      n = 0;
      t.reset();
      let lastEnd = -Infinity;
      for (let k = 0; k < kids.length; k++) {
        const c = kids[k];
        const s = tree.spans[c];
        if (s.category !== 'agent') continue;
        if (s.start + OVERLAP_TOLERANCE_US < lastEnd) {
          // Overlaps the previous turn: parallel work, not a hand-off. Start over from here.
          if (best) report(out, tree, cfg, p, turns(seq, best), best.cycle, 'sibling agents', agentLabel);
          best = null;
          n = 0;
          t.reset();
        }
        lastEnd = Math.max(lastEnd, s.end);
        seq[n] = c;
        keys[n++] = agentLabel(tree, c);
        const cycle = advance(t, null, n - 1, keys, cfg.minCycle);
        if (cycle && (!best || cycle.repeats >= best.cycle.repeats)) best = { cycle, end: n - 1 };
      }
      if (best) report(out, tree, cfg, p, turns(seq, best), best.cycle, 'sibling agents', agentLabel);
    }

    if (cfg.signatures) {
      // One branch's tool calls, and separately its model calls, cycling through the same signatures.
      for (let kind = 0; kind < 2; kind++) {
        let best: { cycle: Cycle; end: number } | null = null;
        n = 0;
        t.reset();
        for (let k = 0; k < kids.length; k++) {
          const c = kids[k];
          const s = tree.spans[c];
          const isKind = kind === 0 ? s.category === 'tool' : s.category === 'llm' || s.category === 'embedding';
          if (!isKind) continue;
          seq[n] = c;
          // A call with no comparable signature equals nothing: it breaks every cycle through it.
          keys[n++] = s.callSignature ?? -c - 1;
          const cycle = advance(t, null, n - 1, keys, cfg.minCycle);
          if (cycle && (!best || cycle.repeats > best.cycle.repeats)) best = { cycle, end: n - 1 };
        }
        if (best) report(out, tree, cfg, p, turns(seq, best), best.cycle, 'call signatures', callLabel);
      }
    }
  }

  if (cfg.agents) nestedAgents(tree, cfg.minCycle, cfg.maxCycle, cfg.repeats, (turns, cycle) => report(out, tree, cfg, turns[0], turns, cycle, 'nested agents', agentLabel));
  return out.list();
};

// Module functions, not closures made per tree: the server runs under tsx, whose keepNames names every closure
// made (~0.3 µs each, on every tree judged in the ingest stream).
function agentLabel(tree: TreeSnapshot, i: number): string {
  return tree.spans[i].agentName ?? tree.spans[i].name;
}

function callLabel(tree: TreeSnapshot, i: number): string {
  return tree.spans[i].toolName ?? tree.spans[i].model ?? tree.spans[i].name;
}

/** The cycle's turns: the positions of its elements in `seq`. */
function turns(seq: readonly number[], best: { cycle: Cycle; end: number }): number[] {
  return seq.slice(best.end - best.cycle.window + 1, best.end + 1);
}

function report(
  out: FindingSet,
  tree: TreeSnapshot,
  cfg: DetectorSettings['pingpong'],
  branch: number,
  turns: number[],
  cycle: Cycle,
  kind: string,
  label: (tree: TreeSnapshot, i: number) => string,
): void {
  const severity = severityOf(cycle.repeats, cfg.repeats, cfg.critical);
  if (!severity) return;
  const names = turns.slice(0, cycle.length).map((i) => label(tree, i));
  const where = kind === 'nested agents' ? `nested from ${branchName(tree, branch)}` : `under ${branchName(tree, branch)}`;
  const title =
    kind === 'call signatures'
      ? `${names.join(' → ')} calls cycled ${cycle.repeats}× ${where}`
      : `${names.join(' → ')} took turns ${turns.length} times (${cycle.repeats} rounds) ${where}`;
  out.add(
    branchId(tree, branch),
    severity,
    title,
    evidence(tree, turns, {
      metric: `repetitions of a ${cycle.length}-step cycle (${kind})`,
      value: cycle.repeats,
      warningAt: cfg.repeats,
      criticalAt: cfg.critical,
      names,
      details: { kind, cycleLength: cycle.length, repeats: cycle.repeats, turns: turns.length },
    }),
  );
}

/**
 * Agents nested in each other along a path from the root (A calls B calls A calls B …): the sequence is
 * the agent spans on the path, walked in pre-order with a stack, so the whole tree is one linear pass.
 */
function nestedAgents(
  tree: TreeSnapshot,
  minCycle: number,
  maxCycle: number,
  minRepeats: number,
  report: (turns: number[], cycle: Cycle) => void,
): void {
  // A cycle repeated minRepeats times takes at least minRepeats × minCycle agents on one path: most trees have fewer
  // agents in all, and are done without the walk's arrays and maps.
  let agents = 0;
  for (let i = 0; i < tree.spans.length; i++) if (tree.spans[i].category === 'agent') agents++;
  if (agents < minRepeats * minCycle) return;
  const stack: { idx: number; t: CycleTracker }[] = [];
  // The agents' names along the path, beside the stack (what the cycles are over).
  const keys: string[] = [];
  const pool: CycleTracker[] = [];
  const agentAbove = new Map<number, number>();
  // The best cycle per chain start, reported once at the end (the deepest point of each chain wins).
  const best = new Map<number, { end: number; cycle: Cycle }>();
  for (let i = 0; i < tree.spans.length; i++) {
    const s = tree.spans[i];
    if (s.category !== 'agent') continue;
    while (stack.length > 0 && i >= tree.subtreeEnd[stack[stack.length - 1].idx]) {
      pool.push(stack.pop()!.t);
      keys.pop();
    }
    const t = pool.pop() ?? new CycleTracker(maxCycle);
    const prev = stack.length > 0 ? stack[stack.length - 1].t : null;
    if (!prev) t.reset();
    else agentAbove.set(i, stack[stack.length - 1].idx);
    stack.push({ idx: i, t });
    keys.push(s.agentName ?? s.name);
    const k = stack.length - 1;
    const cycle = advance(t, prev, k, keys, minCycle);
    if (cycle && cycle.repeats >= minRepeats) {
      const first = stack[k - cycle.window + 1].idx;
      const had = best.get(first);
      if (!had || cycle.repeats >= had.cycle.repeats) best.set(first, { end: i, cycle });
    }
  }
  for (const { end, cycle } of best.values()) {
    // Walk the chain back up from its deepest agent: O(window) once per finding, not per node.
    const turns: number[] = [end];
    for (let at = end; turns.length < cycle.window; ) {
      at = agentAbove.get(at) as number;
      turns.push(at);
    }
    report(turns.reverse(), cycle);
  }
}
