'use client';

import { memo } from 'react';
import { CategoryBadge, categoryClass, KilledBadge, OrphanBadge } from './badges';
import { Cost, SpanCost } from './cost';
import { formatDuration, formatInt } from './format';
import { isModelCallCategory } from '@/lib/domain';
import type { TreeNode } from './span-tree';

export const ROW_HEIGHT = 28;
export const HEADER_HEIGHT = 30;
/** Indentation per level, and the level beyond which rows stop moving right (deep chains stay readable). */
const INDENT = 14;
const MAX_INDENT_LEVELS = 8;
/** Keep in sync with `.tree-grid` in globals.css. */
export const TREE_MIN_WIDTH = 1110;

export function TreeHeader({ traceDurationMs }: { traceDurationMs: number }) {
  return (
    <div className="tree-grid tree-header" style={{ height: HEADER_HEIGHT }} aria-hidden="true">
      <div>Span</div>
      <div>Kind</div>
      <div title="Model, tool or agent">Model/tool/agent</div>
      <div className="num">Duration</div>
      <div title="Status" />
      <div className="num subtree" title="Input / output tokens of this span and everything below it">
        Subtree tokens
      </div>
      <div className="num subtree" title="Cost of this span and everything below it">
        Subtree cost
      </div>
      <div className="num" title="Input / output tokens of this span alone">
        Own tokens
      </div>
      <div className="num" title="Cost of this span alone">
        Own cost
      </div>
      <div className="timeline-head">
        <span>0</span>
        <span>{formatDuration(traceDurationMs)}</span>
      </div>
    </div>
  );
}

function Tokens({ input, output }: { input: number; output: number }) {
  if (input === 0 && output === 0) return <span className="muted">—</span>;
  return (
    <span className="tokens" title={`${formatInt(input)} input · ${formatInt(output)} output tokens`}>
      <span className="tok-in">{formatInt(input)}</span>
      <span className="tok-sep">/</span>
      <span className="tok-out">{formatInt(output)}</span>
    </span>
  );
}

/** Own usage that is counted on another span (the same call reported twice): struck through, with the reason. */
function notCounted(s: TreeNode['span']) {
  if (!s.spendCountedOn) return {};
  return {
    'data-counted': 'false',
    title: `Not counted in totals: usage counted on the inner call ${s.spendCountedOn.name}`,
    style: { opacity: 0.5, textDecoration: 'line-through' },
  };
}

interface TreeRowProps {
  node: TreeNode;
  top: number;
  selected: boolean;
  collapsed: boolean;
  traceStartMs: number;
  traceDurationMs: number;
  onToggle: (spanId: string) => void;
  onSelect: (spanId: string) => void;
}

export const TreeRow = memo(function TreeRow({
  node,
  top,
  selected,
  collapsed,
  traceStartMs,
  traceDurationMs,
  onToggle,
  onSelect,
}: TreeRowProps) {
  const s = node.span;
  const hasChildren = node.childCount > 0;
  const indentLevels = Math.min(node.level, MAX_INDENT_LEVELS);
  const detail = s.model ?? s.toolName ?? s.agentName ?? '';
  const detailKind = s.model ? 'model' : s.toolName ? 'tool' : s.agentName ? 'agent' : '';
  const rollupHasUsage = s.rollup.inputTokens + s.rollup.outputTokens > 0;

  const left = Math.max(0, Math.min(100, ((node.startMs - traceStartMs) / traceDurationMs) * 100));
  const width = Math.max(0.25, Math.min(100 - left, ((node.endMs - node.startMs) / traceDurationMs) * 100));

  return (
    <div
      role="treeitem"
      aria-level={node.level + 1}
      aria-expanded={hasChildren ? !collapsed : undefined}
      aria-selected={selected}
      className={`tree-grid tree-row${selected ? ' is-selected' : ''}${s.status === 'error' ? ' is-error' : ''}`}
      style={{ top, height: ROW_HEIGHT }}
      data-span-id={s.spanId}
      onClick={() => onSelect(s.spanId)}
      onDoubleClick={() => hasChildren && onToggle(s.spanId)}
    >
      <div className="c-name">
        {indentLevels > 0 && <span className="indent" style={{ width: indentLevels * INDENT }} />}
        {node.level > MAX_INDENT_LEVELS && (
          <span className="deep-level" title={`Nesting level ${node.level} (indentation capped)`}>
            ↳{node.level}
          </span>
        )}
        {hasChildren ? (
          <button
            type="button"
            className={`caret${collapsed ? '' : ' is-open'}`}
            aria-label={collapsed ? 'Expand' : 'Collapse'}
            tabIndex={-1}
            onClick={(e) => {
              e.stopPropagation();
              onToggle(s.spanId);
            }}
          >
            ▸
          </button>
        ) : (
          <span className="caret-spacer" />
        )}
        <span className="span-name" title={s.name}>
          {s.name}
        </span>
        {node.detached && <OrphanBadge />}
        {s.status === 'error' && <span className="badge status-error">error</span>}
        {s.killed && <KilledBadge span={s} />}
        {hasChildren && collapsed && (
          <span className="hidden-count" title="Spans hidden in this collapsed branch">
            +{formatInt(Math.max(s.rollup.spanCount - 1, node.childCount))}
          </span>
        )}
      </div>
      <div className="c-kind">
        <CategoryBadge category={s.category} />
      </div>
      <div className="c-detail" title={detail ? `${detailKind}: ${detail}` : undefined}>
        {detail}
      </div>
      <div className="num c-dur">{formatDuration(s.durationMs)}</div>
      <div className="c-status">
        <span className={`dot dot-span-${s.status}`} title={`status: ${s.status}`} />
      </div>
      <div className="num subtree" data-col="rollup-tokens">
        <Tokens input={s.rollup.inputTokens} output={s.rollup.outputTokens} />
      </div>
      <div className="num subtree" data-col="rollup-cost">
        <Cost usd={s.rollup.costUsd} unpriced={s.rollup.unpricedSpans} hasUsage={rollupHasUsage} compact />
      </div>
      <div className="num" data-col="own-tokens" {...notCounted(s)}>
        <Tokens input={s.inputTokens} output={s.outputTokens} />
      </div>
      <div className="num" data-col="own-cost" {...notCounted(s)}>
        <SpanCost usd={s.costUsd} isModelCall={isModelCallCategory(s.category)} />
      </div>
      <div className="c-timeline" aria-hidden="true">
        <span
          className={`bar ${categoryClass(s.category)}${s.status === 'error' ? ' bar-error' : ''}`}
          style={{ left: `${left}%`, width: `${width}%` }}
        />
      </div>
    </div>
  );
});
