// The kills this process knows to be in force, by trace: the whole tree's, and branch kills by the span at their
// root. For a span whose ancestry continues in another process, Canopy's answer on which killed branch covers it
// is kept too (`covered`, by the span asked about). Judging a span is then a few map lookups.
import type { Lineage } from './local-spans.js';
import type { ControlAnswer, KillEvent, KillScope } from './wire.js';

export interface KnownKill {
  traceId: string;
  /** Root of the killed branch; null for the whole tree. */
  spanId: string | null;
  scope: KillScope;
  reason: string;
  killedAt: string;
  /** Order in which kills were learned: what a later answer may overrule. */
  learned: number;
}

interface TraceKills {
  tree: KnownKill | null;
  branches: Map<string, KnownKill>;
  /** Span asked about → the killed branch above it, found by Canopy beyond this process. */
  covered: Map<string, KnownKill>;
  /** Changes with every branch kill learned (never back to an earlier value, even after the trace was dropped):
   * a span asked about at another version may be covered by a newer kill. */
  version: number;
}

/** Traces whose kills are kept at most; the oldest go first (kills are rare, this is a leak guard). */
const MAX_TRACES = 10_000;

export class KillsInForce {
  private readonly traces = new Map<string, TraceKills>();
  private learned = 0;

  /** Where the next kill learned will be counted from. */
  get clock(): number {
    return this.learned;
  }

  version(traceId: string): number {
    return this.traces.get(traceId)?.version ?? 0;
  }

  /** A pushed event; returns whether anything changed. */
  apply({ type, kill }: KillEvent): boolean {
    if (type === 'kill' && kill.active) {
      return this.add({ traceId: kill.traceId, spanId: kill.spanId, scope: kill.scope, reason: kill.reason, killedAt: kill.createdAt });
    }
    return this.remove(kill.traceId, kill.spanId);
  }

  /** Canopy answered "killed" about `askedSpanId` (null: the tree): the kill it named, and that it covers that span. */
  answer(traceId: string, askedSpanId: string | null, a: ControlAnswer): KnownKill | null {
    if (!a.killed || !a.scope) return null;
    const spanId = a.scope === 'tree' ? null : a.killedSpanId ?? askedSpanId;
    if (a.scope === 'branch' && !spanId) return null;
    this.add({ traceId, spanId, scope: a.scope, reason: a.reason ?? '', killedAt: a.killedAt ?? new Date().toISOString() });
    const t = this.traces.get(traceId)!;
    const kill = spanId ? t.branches.get(spanId)! : t.tree!;
    if (askedSpanId && spanId && askedSpanId !== spanId) t.covered.set(askedSpanId, kill);
    return kill;
  }

  /** Canopy answered "not killed" about these spans: kills learned before `before` that would cover them are stale. */
  confirmAlive(traceId: string, spanIds: readonly string[], before: number): boolean {
    const t = this.traces.get(traceId);
    if (!t) return false;
    let changed = false;
    if (t.tree && t.tree.learned < before) (t.tree = null), (changed = true);
    for (const id of spanIds) {
      const branch = t.branches.get(id);
      if (branch && branch.learned < before) changed = this.remove(traceId, id) || changed;
      const covering = t.covered.get(id);
      if (covering && covering.learned < before) t.covered.delete(id), (changed = true);
    }
    this.dropIfEmpty(traceId);
    return changed;
  }

  /** The kill that stops this span (or tree), if any is known. */
  killOf(lineage: Lineage): KnownKill | null {
    const t = this.traces.get(lineage.traceId);
    if (!t) return null;
    if (t.tree) return t.tree;
    for (const id of lineage.chain) {
      const kill = t.branches.get(id);
      if (kill) return kill;
    }
    if (!lineage.rootReached && lineage.ask.spanId) return t.covered.get(lineage.ask.spanId) ?? null;
    return null;
  }

  /** Branch kills of this trace that are not in the chain: they may cover it through another process. */
  hasBranchesOutside(lineage: Lineage): boolean {
    const t = this.traces.get(lineage.traceId);
    if (!t) return false;
    for (const id of t.branches.keys()) if (!lineage.chain.includes(id)) return true;
    return false;
  }

  /** Forgets every trace but these (after an outage, what was learned before may have been revived since). */
  retainOnly(traceIds: Set<string>): void {
    for (const id of [...this.traces.keys()]) if (!traceIds.has(id)) this.traces.delete(id);
  }

  private add(k: Omit<KnownKill, 'learned'>): boolean {
    let t = this.traces.get(k.traceId);
    if (t && (k.spanId ? t.branches.has(k.spanId) : t.tree)) return false;
    if (!t) {
      if (this.traces.size >= MAX_TRACES) this.traces.delete(this.traces.keys().next().value!);
      this.traces.set(k.traceId, (t = { tree: null, branches: new Map(), covered: new Map(), version: 0 }));
    }
    const kill: KnownKill = { ...k, learned: this.learned++ };
    if (kill.spanId) {
      t.branches.set(kill.spanId, kill);
      t.version = kill.learned + 1;
    } else t.tree = kill;
    return true;
  }

  private remove(traceId: string, spanId: string | null): boolean {
    const t = this.traces.get(traceId);
    if (!t) return false;
    let changed = false;
    if (spanId === null) {
      changed = t.tree !== null;
      t.tree = null;
    } else if (t.branches.delete(spanId)) {
      changed = true;
      for (const [asked, kill] of t.covered) if (kill.spanId === spanId) t.covered.delete(asked);
    }
    this.dropIfEmpty(traceId);
    return changed;
  }

  private dropIfEmpty(traceId: string): void {
    const t = this.traces.get(traceId);
    if (t && !t.tree && t.branches.size === 0) this.traces.delete(traceId);
  }
}
