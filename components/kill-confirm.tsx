'use client';

import { useEffect, useRef, type ReactNode } from 'react';
import { KILL_REASON_MAX_CHARS } from '@/lib/domain';

/**
 * The confirmation every kill goes through (from the trace page and from an alert): a modal <dialog> that says
 * what will stop (`children`), takes a reason, and sends the kill only from its "Kill" button. Focus stays
 * inside, Escape cancels, Cancel has the focus at first so Enter never kills by accident.
 */
export function KillConfirm(p: {
  title: string;
  reason: string;
  onReason: (reason: string) => void;
  /** Sends the kill; calls `close` once it is made. */
  onKill: (close: () => void) => void;
  pending: boolean;
  error: Error | null;
  onClose: () => void;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  const close = () => ref.current?.close();
  return (
    <dialog ref={ref} className="dialog" aria-label={p.title} onClose={p.onClose} data-testid="kill-dialog">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          p.onKill(close);
        }}
      >
        <h2>{p.title}</h2>
        {p.children}
        <p className="muted">
          Agents stop at their next check of Canopy&apos;s control API. Nothing is deleted; the kill can be revived from the
          tree&apos;s page.
        </p>
        <label className="dialog-field">
          <span>Reason</span>
          <input value={p.reason} maxLength={KILL_REASON_MAX_CHARS} onChange={(e) => p.onReason(e.target.value)} />
        </label>
        {p.error && (
          <p className="banner banner-error" role="alert">
            The kill was not sent: {p.error.message}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" className="btn" autoFocus onClick={close}>
            Cancel
          </button>
          <button type="submit" className="btn btn-danger" disabled={p.pending}>
            {p.pending ? 'Killing…' : 'Kill'}
          </button>
        </div>
      </form>
    </dialog>
  );
}
