import 'server-only';
import type { Tree } from '../../domain';
import type { TreeRow } from './trace-detail';

// Finished trees as last built for a page's first rows (trace-head.ts), kept in memory: a tree is opened again and
// again during an incident (everyone following the alert's link, reloads), and its first rows otherwise cost
// reading every span's tree columns and building the whole tree each time (~70 of the ~105 ms of CPU of a
// 10,000-span tree's first rows here). Only trees with nothing running are kept, under a stamp of what was stored
// (read on every use): the trace index's newest ingest time, which every ended or started span stored moves, and
// the ended spans' count.

/**
 * Spans held over all trees: one or two very large trees, or many small ones. The largest trees are the ones
 * worth keeping (a 100,000-span tree's first rows cost ~0.6–0.9 s of reading and building here, ~0.1 s taken as
 * built), at ~0.5 KiB of memory per span held (its tree row and node: ~50 MiB for 100,000 spans).
 */
const MAX_SPANS = 300_000;

interface BuiltTree {
  stamp: string;
  tree: Tree<TreeRow>;
}

class BuiltTrees {
  private readonly byTrace = new Map<string, BuiltTree>();
  private spans = 0;

  has(traceId: string): boolean {
    return this.byTrace.has(traceId);
  }

  /** The tree built under this stamp; undefined (and forgotten) when the trace changed since. */
  get(traceId: string, stamp: string): Tree<TreeRow> | undefined {
    const found = this.byTrace.get(traceId);
    if (!found) return undefined;
    this.drop(traceId);
    if (found.stamp !== stamp) return undefined;
    this.byTrace.set(traceId, found); // most recently used last
    this.spans += found.tree.nodes.length;
    return found.tree;
  }

  set(traceId: string, stamp: string, tree: Tree<TreeRow>): void {
    if (tree.nodes.length > MAX_SPANS / 2) return;
    this.drop(traceId);
    this.byTrace.set(traceId, { stamp, tree });
    this.spans += tree.nodes.length;
    for (const id of this.byTrace.keys()) {
      if (this.spans <= MAX_SPANS) break;
      this.drop(id);
    }
  }

  private drop(traceId: string): void {
    const old = this.byTrace.get(traceId);
    if (!old) return;
    this.byTrace.delete(traceId);
    this.spans -= old.tree.nodes.length;
  }
}

export const builtTrees = new BuiltTrees();

/** What was stored of a trace, as far as its tree goes: any span stored since changes its newest ingest time or count. */
export const storedStamp = (lastSeenMs: string, spanCount: string | undefined) => `${lastSeenMs}/${spanCount ?? 0}`;
