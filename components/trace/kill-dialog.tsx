'use client';

import { useEffect, useId, useRef, useState } from 'react';
import { KILL_REASON_MAX_CHARS, type Rollup } from '@/lib/domain';
import { useKill } from '@/lib/client/use-trace';
import { Cost } from '../cost';
import { formatInt } from '../format';

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

/**
 * Confirms a kill: says what will stop (the spans so far, the running ones, the spend so far) before the "Kill"
 * button sends it. A modal <dialog>: focus stays inside, Escape cancels, Cancel has the focus at first.
 */
export function KillDialog({ target, onClose }: { target: KillTarget; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const kill = useKill(target.traceId);
  const [reason, setReason] = useState(target.spanId ? `Branch ${target.name} killed from the trace page` : 'Tree killed from the trace page');

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);

  const s = target.spend;
  const spans = `${formatInt(s.spanCount)} span${s.spanCount === 1 ? '' : 's'}`;
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={titleId} onClose={onClose} data-testid="kill-dialog">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          kill.mutate({ spanId: target.spanId, reason: reason.trim() }, { onSuccess: () => ref.current?.close() });
        }}
      >
        <h2 id={titleId}>{target.spanId ? 'Kill this branch?' : 'Kill the whole tree?'}</h2>
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
        <p className="muted">
          Agents stop at their next check of Canopy&apos;s control API. Nothing is deleted, and a kill can be revived here.
        </p>
        <label className="dialog-field">
          <span>Reason</span>
          <input value={reason} maxLength={KILL_REASON_MAX_CHARS} onChange={(e) => setReason(e.target.value)} />
        </label>
        {kill.isError && (
          <p className="banner banner-error" role="alert">
            The kill was not sent: {kill.error.message}
          </p>
        )}
        <div className="dialog-actions">
          {/* Cancel first and focused: Enter on an opened dialog must not kill anything by accident. */}
          <button type="button" className="btn" autoFocus onClick={() => ref.current?.close()}>
            Cancel
          </button>
          <button type="submit" className="btn btn-danger" disabled={kill.isPending}>
            {kill.isPending ? 'Killing…' : 'Kill'}
          </button>
        </div>
      </form>
    </dialog>
  );
}
