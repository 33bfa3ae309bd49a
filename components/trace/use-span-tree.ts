'use client';

// The tree the rows are drawn from (span-tree.ts) and its repeated calls (tree/repeats.ts), derived from the
// API's spans. A small tree is derived during render. A large one (the whole detail landing after the page's
// first rows, a 100,000-span tree taking a few hundred milliseconds) is derived between frames, a step at a
// time, while the rows already shown stay on screen and keep scrolling; they are swapped for the new ones
// once it is ready.

import { startTransition, useEffect, useMemo, useState } from 'react';
import type { SpanView } from '@/lib/domain';
import { treeFromApiOrder, treeSteps, type SpanTree } from '../span-tree';
import { repeatGroups, type RepeatIndex } from '../tree/repeats';

/** Up to this many spans, the tree is derived during render (a few milliseconds). */
const IN_RENDER_MAX = 5_000;
/** Spans per step of a large tree, between looks at the clock. */
const STEP = 1_000;
/** Work between two turns of the page (a long task is 50 ms). */
const SLICE_MS = 12;

export interface DerivedTree {
  spans: readonly SpanView[];
  tree: SpanTree;
  repeats: RepeatIndex;
  /** The spans are the top of a tree of this many (a partial detail); null when they are the whole tree. */
  of: number | null;
}

function derive(spans: readonly SpanView[], of: number | null): DerivedTree {
  const tree = treeFromApiOrder(spans);
  return { spans, tree, repeats: repeatGroups(tree), of };
}

const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * The tree of `spans` (`of`: the size of the tree they are the top of, null when whole); for a large tree, the
 * previous one until the new one is ready (the first one at once).
 */
export function useSpanTree(spans: readonly SpanView[], of: number | null): DerivedTree {
  const [held, setHeld] = useState<DerivedTree>(() => derive(spans, of));
  const small = spans.length <= IN_RENDER_MAX;
  const inRender = useMemo(() => (small && held.spans !== spans ? derive(spans, of) : null), [small, spans, held.spans, of]);

  useEffect(() => {
    if (small || held.spans === spans) return;
    let cancelled = false;
    void (async () => {
      const steps = treeSteps(spans, STEP);
      let started = performance.now();
      let step = steps.next();
      while (!step.done) {
        if (performance.now() - started >= SLICE_MS) {
          await nextTurn();
          if (cancelled) return;
          started = performance.now();
        }
        step = steps.next();
      }
      const tree = step.value;
      await nextTurn();
      if (cancelled) return;
      const repeats = repeatGroups(tree);
      await nextTurn();
      if (cancelled) return;
      // Rendering the new rows can be interrupted by scrolling.
      startTransition(() => setHeld({ spans, tree, repeats, of }));
    })();
    return () => {
      cancelled = true;
    };
  }, [small, spans, held.spans, of]);

  return inRender ?? held;
}
