'use client';

import { useEffect, useState } from 'react';

/** Copies `value` to the clipboard; says "Copied" for a moment. `label` names what is copied, for the button's name. */
export function CopyButton({ value, label }: { value: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const t = setTimeout(() => setState('idle'), 1500);
    return () => clearTimeout(t);
  }, [state]);
  return (
    <button
      type="button"
      className="copy-button"
      aria-label={`Copy ${label}`}
      title={`Copy ${label}`}
      data-copy={value}
      onClick={(e) => {
        e.stopPropagation();
        // The clipboard needs a secure context (localhost is one); elsewhere the id stays selectable text.
        navigator.clipboard?.writeText(value).then(
          () => setState('copied'),
          () => setState('failed'),
        ) ?? setState('failed');
      }}
    >
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Select it' : 'Copy'}
    </button>
  );
}

/** An id as monospace text with its copy button. */
export function CopyableId({ value, label }: { value: string; label: string }) {
  return (
    <span className="copyable">
      <span className="mono">{value}</span>
      <CopyButton value={value} label={label} />
    </span>
  );
}
