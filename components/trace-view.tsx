'use client';

import Link from 'next/link';
import { useCallback, useDeferredValue, useMemo, useState } from 'react';
import { notReceivedName, type TraceDetailResponse } from '@/lib/domain';
import { isNotFound, useRevive, useTrace } from '@/lib/client/use-trace';
import type { PendingParent, TreeNode } from './span-tree';
import type { SpendWhole } from './tree-row';
import { Explorer } from './trace/explorer';
import { KillDialog, type KillTarget } from './trace/kill-dialog';
import { alertsBySpan, treeName } from './trace/numbers';
import { TraceHeader } from './trace/trace-header';
import { useSpanTree } from './trace/use-span-tree';
import { formatInt } from './format';
import { useNow } from './use-now';

/** `renderedAt`: when the server rendered it (the page's first rows are in its HTML); see useNow. */
export function TraceView({ traceId, renderedAt }: { traceId: string; renderedAt?: number }) {
  const { data, error, isPending, isFetching } = useTrace(traceId);

  if (isPending) {
    return <div className="page panel loading-state">Loading trace…</div>;
  }
  if (!data) {
    const notFound = isNotFound(error);
    return (
      <div className="page">
        <Link href="/" className="back-link">
          ← All traces
        </Link>
        <div className="panel error-state" role="alert">
          <h2>{notFound ? 'Trace not found' : 'Could not load this trace'}</h2>
          <p className="mono">{traceId}</p>
          <p className="muted">
            {notFound
              ? 'No spans with this trace id have been received (or they have expired). If the exporter is still sending, this page picks the trace up automatically.'
              : error?.message}
          </p>
        </div>
      </div>
    );
  }
  return <LoadedTrace traceId={traceId} data={data} error={error} fetching={isFetching} renderedAt={renderedAt} />;
}

function LoadedTrace({ traceId, data: latest, error, fetching, renderedAt }: { traceId: string; data: TraceDetailResponse; error: Error | null; fetching: boolean; renderedAt?: number }) {
  // A new detail (the whole tree after its first rows, an increment) is rendered in the background: the tree,
  // its groups and rows are derived in separate, interruptible steps, so scrolling the rows shown never waits
  // for all of them at once.
  const data = useDeferredValue(latest);
  const running = data.trace.status === 'running';
  // A running tree's live parts (durations, burn rate) move every second; a finished one's only its "5m ago".
  const nowMs = useNow(running ? 1000 : 5000, renderedAt);
  // The API sends the spans in tree order with their depth: the rows follow it, nothing is rebuilt here.
  const { tree, repeats, of } = useSpanTree(data.spans, data.partial ? data.trace.spanCount : null);
  const name = useMemo(() => treeName(data.trace.rootName, data.spans), [data.trace.rootName, data.spans]);
  const byAlert = useMemo(() => alertsBySpan(data.alerts), [data.alerts]);
  const whole = useMemo<SpendWhole>(
    () => (data.trace.costUsd > 0 ? { by: 'cost', total: data.trace.costUsd } : { by: 'tokens', total: data.trace.inputTokens + data.trace.outputTokens }),
    [data.trace.costUsd, data.trace.inputTokens, data.trace.outputTokens],
  );
  const [killing, setKilling] = useState<KillTarget | null>(null);
  const [jump, setJump] = useState<{ spanId: string; seq: number } | null>(null);
  const revive = useRevive(traceId);

  const killBranch = useCallback(
    (node: TreeNode) => {
      let live = 0;
      for (let i = node.index; i < node.end; i++) if (tree.nodes[i].span.running) live++;
      setKilling({ traceId, spanId: node.span.spanId, name: node.span.name, spend: node.span.rollup, running: live });
    },
    [traceId, tree],
  );
  const killPending = useCallback(
    (p: PendingParent) => setKilling({ traceId, spanId: p.spanId, name: `${notReceivedName(p.spanId)} (not received yet)`, spend: p.rollup, running: p.running }),
    [traceId],
  );
  const killTree = () => {
    const t = data.trace;
    setKilling({
      traceId,
      spanId: null,
      name: name.name || traceId,
      spend: { spanCount: t.spanCount, costUsd: t.costUsd, unpricedSpans: t.unpricedSpans, inputTokens: t.inputTokens, outputTokens: t.outputTokens },
      running: t.runningSpans,
    });
  };
  const jumpTo = useCallback((spanId: string) => setJump((j) => ({ spanId, seq: (j?.seq ?? 0) + 1 })), []);
  const { mutate: reviveKill } = revive; // stable: the memoised rows take it
  const reviveBranch = useCallback((spanId: string) => reviveKill(spanId), [reviveKill]);

  return (
    <div className="trace-page">
      <TraceHeader
        data={data}
        name={name}
        nowMs={nowMs}
        fetching={fetching}
        onKillTree={killTree}
        onReviveTree={() => revive.mutate(null)}
        reviving={revive.isPending}
        onJump={jumpTo}
      />
      {error && (
        <div className="banner banner-error" role="alert">
          Could not refresh this trace: {error.message}. Showing the last data received.
        </div>
      )}
      {revive.isError && (
        <div className="banner banner-error" role="alert">
          The revive was not sent: {revive.error.message}
        </div>
      )}
      {data.truncated && (
        <div className="banner" role="status">
          This trace is too large to show whole: showing its first {formatInt(data.spans.length)} of {formatInt(data.trace.spanCount)} spans. The
          totals above count every span.
        </div>
      )}
      <Explorer traceId={traceId} tree={tree} repeats={repeats} of={of} running={running} nowMs={nowMs} alertsBySpan={byAlert} whole={whole} onKill={killBranch} onKillPending={killPending} onRevive={reviveBranch} jump={jump} />
      {killing && <KillDialog target={killing} onClose={() => setKilling(null)} />}
    </div>
  );
}
