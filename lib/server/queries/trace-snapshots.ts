import 'server-only';
import type { Rollup, TreeInput, TreeNode } from '../../domain';

// What a client holding a trace detail has of its tree, kept in memory for the next `?since=`: each span's parent,
// tree fields and running state as last sent, under the cursor sent with them. With it, an increment builds only
// the tree as it is now and compares it with this, instead of also rebuilding the client's tree from the rows
// stored before the cursor (the tree builder is most of an increment's cost on a large tree). A miss (another
// process answered the last read, a restart, eviction) falls back to that rebuild: same answer, more work.

export interface SpanMark {
  parent: string | null;
  /** The tree fields a patch carries, as one string (trace-increment.ts treeFieldsKey). */
  key: string;
  running: boolean;
}

export type TreeSnapshot = Map<string, SpanMark>;

/** The tree's numbers as sent with a snapshot: with nothing stored since, an increment answers from them. */
export interface TreeNumbers {
  totals: Rollup;
  maxDepth: number;
  running: number;
}

interface Entry {
  snapshot: TreeSnapshot;
  numbers?: TreeNumbers;
}

/** Spans held over all snapshots: a few large trees open at once, or many small ones. */
const MAX_SPANS = 300_000;

class SnapshotCache {
  private readonly byKey = new Map<string, Entry>();
  private spans = 0;

  get(traceId: string, cursor: string): Entry | undefined {
    const key = `${traceId}/${cursor}`;
    const found = this.byKey.get(key);
    if (found) {
      // Most recently used last.
      this.byKey.delete(key);
      this.byKey.set(key, found);
    }
    return found;
  }

  set(traceId: string, cursor: string, snapshot: TreeSnapshot, numbers?: TreeNumbers): void {
    if (snapshot.size > MAX_SPANS / 2) return;
    const key = `${traceId}/${cursor}`;
    const old = this.byKey.get(key);
    if (old) {
      this.byKey.delete(key);
      this.spans -= old.snapshot.size;
    }
    this.byKey.set(key, { snapshot, numbers });
    this.spans += snapshot.size;
    for (const [k, v] of this.byKey) {
      if (this.spans <= MAX_SPANS) break;
      this.byKey.delete(k);
      this.spans -= v.snapshot.size;
    }
  }
}

export const snapshots = new SnapshotCache();

/** The tree fields a patch carries, to compare a span's before and now (the counting span by id, not by name). */
export function treeFieldsKey(node: TreeNode<TreeInput>, killed: string): string {
  const r = node.rollup;
  const on = node.spendCountedElsewhere;
  return `${node.depth}|${node.orphan}|${killed}|${r.spanCount}|${r.inputTokens}|${r.outputTokens}|${r.costUsd}|${r.unpricedSpans}|${node.countsSpend}|${on ? `${on.reason}:${on.on.spanId}` : ''}`;
}

/** Each node's parent position in depth-first order (-1 for a top): the nearest node above at one level less. */
export function parentsOf(nodes: readonly TreeNode<TreeInput>[]): Int32Array {
  const out = new Int32Array(nodes.length);
  const open: number[] = [];
  for (let i = 0; i < nodes.length; i++) {
    const depth = nodes[i].depth;
    open.length = Math.min(open.length, depth);
    out[i] = depth > 0 && open.length === depth ? open[depth - 1] : -1;
    open.push(i);
  }
  return out;
}

/** The snapshot of a tree as sent: `covers` are the nodes' `killed` JSON (killCover), `running` their state. */
export function snapshotOf(nodes: readonly TreeNode<TreeInput & { running: boolean }>[], covers: readonly string[]): TreeSnapshot {
  const parents = parentsOf(nodes);
  const out: TreeSnapshot = new Map();
  for (let i = 0; i < nodes.length; i++) {
    const p = parents[i];
    out.set(nodes[i].span.spanId, { parent: p >= 0 ? nodes[p].span.spanId : null, key: treeFieldsKey(nodes[i], covers[i]), running: nodes[i].span.running });
  }
  return out;
}
