'use client';

import { useRef, useState } from 'react';
import { KILL_REASON_MAX_CHARS, type Alert, type Kill } from '@/lib/domain';
import { useAlertTree } from '@/lib/client/use-alerts';
import { useKill } from '@/lib/client/use-trace';
import { Cost } from '../cost';
import { formatInt } from '../format';
import { KillConfirm } from '../kill-confirm';
import { alertScope, RULE_LABEL } from './alert-labels';

/**
 * Confirms a kill from an alert: the branch or the tree it concerns, and the tree's spans and spend so far.
 * `onDone` gets the kill made, or null when cancelled.
 */
export function KillDialog({ alert, onDone }: { alert: Alert; onDone: (kill: Kill | null) => void }) {
  const scope = alertScope(alert);
  const tree = useAlertTree(alert.traceId);
  const kill = useKill(alert.traceId);
  // The kill made, for the card once the dialog closes (read when the close event fires, after a render or not).
  const made = useRef<Kill | null>(null);
  const [reason, setReason] = useState(() => `${RULE_LABEL[alert.rule]} alert: ${alert.title}`.slice(0, KILL_REASON_MAX_CHARS));
  const t = tree.data;
  return (
    <KillConfirm
      title={scope === 'tree' ? 'Kill the whole tree?' : 'Kill this branch?'}
      reason={reason}
      onReason={setReason}
      onKill={(close) =>
        kill.mutate(
          { spanId: scope === 'tree' ? null : alert.spanId, reason: reason.trim() },
          {
            onSuccess: (k) => {
              made.current = k;
              close();
            },
          },
        )
      }
      pending={kill.isPending}
      error={kill.error}
      onClose={() => onDone(made.current)}
    >
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
    </KillConfirm>
  );
}
