'use client';

import { useState } from 'react';
import type { Rollup } from '@/lib/domain';
import { useKill } from '@/lib/client/use-trace';
import { Cost } from '../cost';
import { formatInt } from '../format';
import { KillConfirm } from '../kill-confirm';

/** What a kill would stop: the whole tree, or the branch under one span. */
export interface KillTarget {
  traceId: string;
  /** null: the whole tree. */
  spanId: string | null;
  name: string;
  /** The spans it covers so far and their spend (the tree's totals, or the branch's rollup). */
  spend: Pick<Rollup, 'spanCount' | 'costUsd' | 'unpricedSpans' | 'inputTokens' | 'outputTokens'>;
  /** Of those, still running. */
  running: number;
}

/** Confirms a kill from the trace page: the spans it covers so far, the running ones and their spend. */
export function KillDialog({ target, onClose }: { target: KillTarget; onClose: () => void }) {
  const kill = useKill(target.traceId);
  const [reason, setReason] = useState(target.spanId ? `Branch ${target.name} killed from the trace page` : 'Tree killed from the trace page');
  const s = target.spend;
  const spans = `${formatInt(s.spanCount)} span${s.spanCount === 1 ? '' : 's'}`;
  return (
    <KillConfirm
      title={target.spanId ? 'Kill this branch?' : 'Kill the whole tree?'}
      reason={reason}
      onReason={setReason}
      onKill={(close) => kill.mutate({ spanId: target.spanId, reason: reason.trim() }, { onSuccess: close })}
      pending={kill.isPending}
      error={kill.error}
      onClose={onClose}
    >
      {target.spanId ? (
        <p>
          Stops <strong className="dialog-name">{target.name}</strong> and everything below it: {spans} so far
          {target.running > 0 && <>, {formatInt(target.running)} still running</>}, and any span started under it later, in every process.
          The rest of the tree keeps running.
        </p>
      ) : (
        <p>
          Stops <strong>every span of the tree</strong> <strong className="dialog-name">{target.name}</strong>: {spans} so far
          {target.running > 0 && <>, {formatInt(target.running)} still running</>}, and any span started later, in every process.
        </p>
      )}
      <p className="dialog-stake" data-testid="kill-stake">
        Spend so far: <Cost usd={s.costUsd} unpriced={s.unpricedSpans} hasUsage={s.inputTokens + s.outputTokens > 0} />.
      </p>
    </KillConfirm>
  );
}
