'use client';

import { memo } from 'react';
import { notReceivedName, type Alert } from '@/lib/domain';
import { AlertBadge, CategoryIcon } from '../badges';
import { formatDuration, formatInt } from '../format';
import { BranchSpend, Caret, Indent, ROW_HEIGHT, Tokens, Waterfall, type Scale, type SpendWhole } from '../tree-row';
import type { PendingParent } from '../span-tree';
import type { RepeatGroup } from './repeats';

// The tree's rows that are not one span: repeated identical calls as one row, the heading above the spans
// whose parent has not arrived, and each such parent above its branches.

/** Repeated identical calls as one row: "× 37 run_tests(path=src/)", with their total spend; opens to the calls. */
export const GroupRow = memo(function GroupRow({ group, level, open, top, scale, whole, alerts, onToggle }: {
  group: RepeatGroup;
  level: number;
  open: boolean;
  top: number;
  scale: Scale;
  whole: SpendWhole;
  alerts: readonly Alert[] | undefined;
  onToggle: (key: string) => void;
}) {
  let cost = 0;
  let unpriced = 0;
  let input = 0;
  let output = 0;
  let startMs = Infinity;
  let endMs = -Infinity;
  let killed = 0;
  for (const m of group.members) {
    const r = m.span.rollup;
    cost += r.costUsd;
    unpriced += r.unpricedSpans;
    input += r.inputTokens;
    output += r.outputTokens;
    startMs = Math.min(startMs, m.startMs);
    endMs = Math.max(endMs, m.endMs);
    if (m.span.killed) killed++;
  }
  const first = group.members[0].span;
  return (
    <div
      role="treeitem"
      aria-level={level + 1}
      aria-expanded={open}
      aria-selected={false}
      className={`tree-grid tree-row group-row${killed === group.members.length ? ' is-killed' : ''}${alerts?.length ? ` has-alert sev-row-${alerts[0].severity}` : ''}`}
      style={{ top, height: ROW_HEIGHT }}
      data-group={group.key}
      onClick={() => onToggle(group.key)}
      title={`${group.members.length} calls with the same signature (${group.signature}): the same ${first.category === 'tool' ? 'tool with the same arguments' : 'call with the same input'}, made again and again under one parent`}
    >
      <div className="c-name">
        <Indent level={level} />
        <button type="button" className={`caret${open ? ' is-open' : ''}`} aria-label={open ? 'Collapse repeated calls' : 'Expand repeated calls'} tabIndex={-1}>
          ▸
        </button>
        <CategoryIcon category={first.category} />
        <span className="repeat-count">× {formatInt(group.members.length)}</span>
        <span className="span-name">{group.label}</span>
        {alerts && <AlertBadge alerts={alerts} about={alerts.some((a) => group.members.some((m) => m.span.spanId === a.spanId))} />}
      </div>
      <div className="c-detail">{first.model ?? first.toolName ?? first.agentName ?? ''}</div>
      <div className="num c-dur" title="From the first call's start to the last one's end">
        {formatDuration(endMs - startMs)}
      </div>
      <Waterfall startMs={startMs} endMs={endMs} scale={scale} category={first.category} error={false} running={false} />
      <div className="num">
        <Tokens input={input} output={output} />
      </div>
      <div className="num" />
      <BranchSpend costUsd={cost} unpriced={unpriced} tokens={input + output} whole={whole} />
      <div className="c-action" />
    </div>
  );
});

/** Above the spans whose parent has not arrived: why they are not in the tree. */
export function DetachedRow({ tops, spans, pending, top }: { tops: number; spans: number; pending: boolean; top: number }) {
  const what = `${formatInt(tops)} branch${tops === 1 ? '' : 'es'} (${formatInt(spans)} span${spans === 1 ? '' : 's'})`;
  return (
    <div role="none" className="detached-row" style={{ top, height: ROW_HEIGHT }} data-detached={pending ? 'pending' : 'missing'}>
      {pending ? (
        <>
          <strong>Parent pending</strong> · {what} whose parent has not been reported yet: the tree is still running, they move into place
          when it arrives
        </>
      ) : (
        <>
          <strong>Missing parent</strong> · {what} whose parent never arrived
        </>
      )}
    </div>
  );
}

/**
 * A parent that has not arrived, above the branches received under it: while a tree runs, this is typically the
 * agent still working (a looping one: the alert names it). Killed, folded and shown by the id it will have.
 */
export const PendingParentRow = memo(function PendingParentRow({ parent, collapsed, running, selected, top, scale, whole, alerts, onToggle, onSelect, onKill, onRevive }: {
  parent: PendingParent;
  collapsed: boolean;
  /** The tree is running: the parent is most likely still open, not lost. */
  running: boolean;
  selected: boolean;
  top: number;
  scale: Scale;
  whole: SpendWhole;
  alerts: readonly Alert[] | undefined;
  onToggle: (spanId: string) => void;
  onSelect: (spanId: string) => void;
  onKill: (parent: PendingParent) => void;
  onRevive: (spanId: string) => void;
}) {
  const name = notReceivedName(parent.spanId);
  const r = parent.rollup;
  const branches = `${formatInt(parent.tops)} branch${parent.tops === 1 ? '' : 'es'}, ${formatInt(r.spanCount)} span${r.spanCount === 1 ? '' : 's'}`;
  const classes = ['tree-grid', 'tree-row', 'pending-parent-row', selected && 'is-selected', parent.killed && 'is-killed', alerts?.length && `has-alert sev-row-${alerts[0].severity}`];
  return (
    <div
      role="treeitem"
      aria-level={1}
      aria-expanded={!collapsed}
      aria-selected={selected}
      className={classes.filter(Boolean).join(' ')}
      style={{ top, height: ROW_HEIGHT }}
      data-span-id={parent.spanId}
      data-pending-parent={running ? 'pending' : 'missing'}
      onClick={() => onSelect(parent.spanId)}
      onDoubleClick={() => onToggle(parent.spanId)}
    >
      <div className="c-name">
        <Caret collapsed={collapsed} onToggle={() => onToggle(parent.spanId)} />
        <CategoryIcon category="other" />
        <span className="span-name" title={`The span ${parent.spanId}, above ${branches}, has not been ${running ? 'reported yet: it is most likely still running' : 'received'}`}>
          {name}
        </span>
        <span className={`badge not-received ${running ? 'is-pending' : 'is-missing'}`}>{running ? 'not received yet' : 'never received'}</span>
        {alerts && <AlertBadge alerts={alerts} about />}
      </div>
      <div className="c-detail">{branches}</div>
      <div className="num c-dur" title="From its first branch's start to its last one's end, so far">
        {formatDuration(parent.endMs - parent.startMs)}
      </div>
      <Waterfall startMs={parent.startMs} endMs={parent.endMs} scale={scale} category="other" error={false} running={running} />
      <div className="num" data-col="rollup-tokens">
        <Tokens input={r.inputTokens} output={r.outputTokens} />
      </div>
      <div className="num" />
      <BranchSpend costUsd={r.costUsd} unpriced={r.unpricedSpans} tokens={r.inputTokens + r.outputTokens} whole={whole} />
      <div className="c-action">
        {parent.killed ? (
          <button type="button" className="row-action revive" onClick={(e) => (e.stopPropagation(), onRevive(parent.spanId))} aria-label={`Revive branch ${name}`}>
            Revive
          </button>
        ) : (
          <button
            type="button"
            className="row-action"
            onClick={(e) => (e.stopPropagation(), onKill(parent))}
            aria-label={`Kill branch ${name}`}
            title="Kill this branch: the span that has not arrived, everything received under it, and whatever it starts next"
          >
            Kill
          </button>
        )}
      </div>
    </div>
  );
});
