'use client';

import { useEffect, useId, useRef, useState } from 'react';
import { KILL_REASON_MAX_CHARS, type Alert, type Kill } from '@/lib/domain';
import { useAlertTree, useKillFromAlert } from '@/lib/client/use-alerts';
import { Cost } from '../cost';
import { formatInt } from '../format';
import { alertScope, RULE_LABEL } from './alert-labels';

/**
 * Confirms a kill from an alert: says what will stop (the branch or the tree, and the tree's spans and spend so
 * far) before the "Kill" button sends it. A modal <dialog>: focus stays inside, Escape cancels.
 */
export function KillDialog({ alert, onDone }: { alert: Alert; onDone: (kill: Kill | null) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const scope = alertScope(alert);
  const tree = useAlertTree(alert.traceId);
  const kill = useKillFromAlert();
  // The kill made, for the card once the dialog closes (read when the close event fires, after a render or not).
  const made = useRef<Kill | null>(null);
  const [reason, setReason] = useState(() => `${RULE_LABEL[alert.rule]} alert: ${alert.title}`.slice(0, KILL_REASON_MAX_CHARS));

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);

  const t = tree.data;
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={titleId} onClose={() => onDone(made.current)}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          kill.mutate(
            { traceId: alert.traceId, spanId: scope === 'tree' ? null : alert.spanId, reason: reason.trim() },
            {
              onSuccess: (k) => {
                made.current = k;
                ref.current?.close();
              },
            },
          );
        }}
      >
        <h2 id={titleId}>{scope === 'tree' ? 'Kill the whole tree?' : 'Kill this branch?'}</h2>
        {scope === 'tree' ? (
          <p>
            Stops <strong>every span of tree</strong> <code>{alert.traceId}</code>: those running now and any started later, in
            every process.
          </p>
        ) : (
          <p>
            Stops <strong>span</strong> <code>{alert.spanId}</code> <strong>and every span below it</strong> — running now or started
            later — in tree <code>{alert.traceId}</code>. The rest of the tree keeps running.
          </p>
        )}
        <p className="dialog-stake" data-testid="kill-stake">
          {tree.isPending ? (
            <span className="muted">Reading the tree…</span>
          ) : t ? (
            <>
              The tree so far: {formatInt(t.spanCount)} span{t.spanCount === 1 ? '' : 's'}, <Cost usd={t.costUsd} unpriced={t.unpricedSpans} />{' '}
              spent, {t.status}.
            </>
          ) : (
            <span className="muted">The tree&apos;s spans are not stored yet; the kill applies when they arrive.</span>
          )}
        </p>
        <p className="muted">
          Agents stop at their next check of Canopy&apos;s control API. Nothing is deleted; the kill can be revived from the
          tree&apos;s page.
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
