'use client';

import { memo } from 'react';
import { isModelCallCategory, type Alert } from '@/lib/domain';
import { AlertBadge, CategoryIcon, categoryClass, KilledBadge, LiveBadge, OrphanBadge, PendingParentBadge } from './badges';
import { Cost, SpanCost } from './cost';
import { formatCompact, formatDuration, formatInt } from './format';
import type { TreeNode } from './span-tree';
import { sharePct, spanExtent, tickLabel, type Tick } from './trace/numbers';

export const ROW_HEIGHT = 28;
export const HEADER_HEIGHT = 30;
/** Indentation per level, and the level beyond which rows stop moving right (deep chains stay readable). */
const INDENT = 14;
const MAX_INDENT_LEVELS = 8;
/**
 * Keep in sync with `.tree-grid` in globals.css: the columns fit 925 px, what the tree gets at 1280×800 with the
 * details panel open.
 */
export const TREE_MIN_WIDTH = 834;

/** The waterfall's scale: the trace's start and length (ms). */
export interface Scale {
  startMs: number;
  durationMs: number;
}

/** What a branch's spend bar is relative to: the tree's cost, or its tokens when nothing is priced. */
export interface SpendWhole {
  by: 'cost' | 'tokens';
  total: number;
}

export function TreeHeader({ ticks }: { ticks: readonly Tick[] }) {
  return (
    <div className="tree-grid tree-header" style={{ height: HEADER_HEIGHT }} aria-hidden="true">
      <div>Span</div>
      <div title="The model, tool or agent the span is about">Model/tool</div>
      <div className="num">Duration</div>
      <div className="timeline-head" title="When each span ran, from the trace's start">
        {ticks.map((t) => (
          <span key={t.atMs} className="tick-label" style={{ left: `${t.pct}%` }}>
            {tickLabel(t.atMs)}
          </span>
        ))}
      </div>
      <div className="num" title="Input / output tokens of the branch: this span and everything below it">
        Tokens
      </div>
      <div className="num" title="Cost of this span alone">
        Own cost
      </div>
      <div className="num subtree" title="Spend of the branch (this span and everything below it), with its share of the tree">
        Branch spend
      </div>
      <div />
    </div>
  );
}

export function Tokens({ input, output }: { input: number; output: number }) {
  if (input === 0 && output === 0) return <span className="muted">—</span>;
  return (
    <span className="tokens" title={`${formatInt(input)} input · ${formatInt(output)} output tokens`}>
      <span className="tok-in">{formatCompact(input)}</span>
      <span className="tok-sep">/</span>
      <span className="tok-out">{formatCompact(output)}</span>
    </span>
  );
}

export function Waterfall({ startMs, endMs, scale, category, error, running }: { startMs: number; endMs: number; scale: Scale; category: string; error: boolean; running: boolean }) {
  const left = Math.max(0, Math.min(100, ((startMs - scale.startMs) / scale.durationMs) * 100));
  const width = Math.max(0.25, Math.min(100 - left, ((endMs - startMs) / scale.durationMs) * 100));
  return (
    <div className="c-timeline" aria-hidden="true">
      <span className={`bar ${categoryClass(category)}${error ? ' bar-error' : ''}${running ? ' bar-running' : ''}`} style={{ left: `${left}%`, width: `${width}%` }} />
    </div>
  );
}

export function BranchSpend({ costUsd, unpriced, tokens, whole }: { costUsd: number; unpriced: number; tokens: number; whole: SpendWhole }) {
  const pct = sharePct(whole.by === 'cost' ? costUsd : tokens, whole.total);
  return (
    <div className="num subtree branch-spend" data-col="rollup-cost" title={pct > 0 ? `${pct.toFixed(1)}% of the tree's ${whole.by === 'cost' ? 'spend' : 'tokens'}` : undefined}>
      <Cost usd={costUsd} unpriced={unpriced} hasUsage={tokens > 0} compact />
      {pct > 0 && <span className="spend-bar" style={{ width: `${pct}%` }} aria-hidden="true" />}
    </div>
  );
}

interface SpanRowProps {
  node: TreeNode;
  top: number;
  selected: boolean;
  collapsed: boolean;
  scale: Scale;
  /** Now (ms) for a running span, whose bar and duration grow; 0 for the others, so they do not render again. */
  nowMs: number;
  whole: SpendWhole;
  alerts: readonly Alert[] | undefined;
  /** Its parent has not arrived while the tree runs: "parent pending", not orphan. */
  pending: boolean;
  hot: boolean;
  match: boolean;
  onToggle: (spanId: string) => void;
  onSelect: (spanId: string) => void;
  onKill: (node: TreeNode) => void;
  onRevive: (spanId: string) => void;
}

export function Indent({ level }: { level: number }) {
  const levels = Math.min(level, MAX_INDENT_LEVELS);
  return (
    <>
      {levels > 0 && <span className="indent" style={{ width: levels * INDENT }} />}
      {level > MAX_INDENT_LEVELS && (
        <span className="deep-level" title={`Nesting level ${level} (indentation capped)`}>
          ↳{level}
        </span>
      )}
    </>
  );
}

/** A branch's open/close toggle, outside the keyboard's tab order (the tree's arrows do that). */
export function Caret({ collapsed, onToggle }: { collapsed: boolean; onToggle: () => void }) {
  return (
    <button
      type="button"
      className={`caret${collapsed ? '' : ' is-open'}`}
      aria-label={collapsed ? 'Expand' : 'Collapse'}
      tabIndex={-1}
      onClick={(e) => {
        e.stopPropagation();
        onToggle();
      }}
    >
      ▸
    </button>
  );
}

export const SpanRow = memo(function SpanRow(p: SpanRowProps) {
  const { node, selected, collapsed } = p;
  const s = node.span;
  const hasChildren = node.childCount > 0;
  const detail = s.model ?? s.toolName ?? s.agentName ?? '';
  const detailKind = s.model ? 'model' : s.toolName ? 'tool' : s.agentName ? 'agent' : '';
  const { startMs, endMs } = spanExtent(s, p.nowMs);
  const killRoot = s.killed && s.killedBy?.scope === 'branch' && s.killedBy.spanId === s.spanId;
  const tokens = s.rollup.inputTokens + s.rollup.outputTokens;
  const classes = ['tree-grid', 'tree-row', selected && 'is-selected', s.status === 'error' && 'is-error', s.killed && 'is-killed', s.running && 'is-running', p.hot && 'is-hot', p.match && 'is-match', p.alerts?.length && `has-alert sev-row-${p.alerts[0].severity}`];

  return (
    <div
      role="treeitem"
      aria-level={node.level + 1}
      aria-expanded={hasChildren ? !collapsed : undefined}
      aria-selected={selected}
      className={classes.filter(Boolean).join(' ')}
      style={{ top: p.top, height: ROW_HEIGHT }}
      data-span-id={s.spanId}
      onClick={() => p.onSelect(s.spanId)}
      onDoubleClick={() => hasChildren && p.onToggle(s.spanId)}
    >
      <div className="c-name">
        <Indent level={node.level} />
        {hasChildren ? (
          <Caret collapsed={collapsed} onToggle={() => p.onToggle(s.spanId)} />
        ) : (
          <span className="caret-spacer" />
        )}
        <CategoryIcon category={s.category} />
        <span className="span-name" title={s.name}>
          {s.name}
        </span>
        {s.running && <LiveBadge />}
        {node.detached && (p.pending ? <PendingParentBadge /> : <OrphanBadge />)}
        {s.status === 'error' && <span className="badge status-error">error</span>}
        {killRoot && <KilledBadge span={s} />}
        {p.alerts && <AlertBadge alerts={p.alerts} about={p.alerts.some((a) => a.spanId === s.spanId)} />}
        {hasChildren && collapsed && (
          <span className="hidden-count" title="Spans hidden in this collapsed branch">
            +{formatInt(Math.max(s.rollup.spanCount - 1, node.childCount))}
          </span>
        )}
      </div>
      <div className="c-detail" title={detail ? `${detailKind}: ${detail}` : undefined}>
        {detail}
      </div>
      <div className="num c-dur">{formatDuration(endMs - startMs)}</div>
      <Waterfall startMs={startMs} endMs={endMs} scale={p.scale} category={s.category} error={s.status === 'error'} running={s.running} />
      <div className="num" data-col="rollup-tokens">
        <Tokens input={s.rollup.inputTokens} output={s.rollup.outputTokens} />
      </div>
      <div className="num" data-col="own-cost" {...notCounted(s)}>
        <SpanCost usd={s.costUsd} isModelCall={isModelCallCategory(s.category)} />
      </div>
      <BranchSpend costUsd={s.rollup.costUsd} unpriced={s.rollup.unpricedSpans} tokens={tokens} whole={p.whole} />
      <div className="c-action">
        {killRoot ? (
          <button type="button" className="row-action revive" onClick={(e) => (e.stopPropagation(), p.onRevive(s.spanId))} aria-label={`Revive branch ${s.name}`}>
            Revive
          </button>
        ) : (
          !s.killed && (
            <button type="button" className="row-action" onClick={(e) => (e.stopPropagation(), p.onKill(node))} aria-label={`Kill branch ${s.name}`} title="Kill this branch: this span and everything below it">
              Kill
            </button>
          )
        )}
      </div>
    </div>
  );
});

/** Own usage that is counted on another span (the same call reported twice): struck through, with the reason. */
function notCounted(s: TreeNode['span']) {
  if (!s.spendCountedOn) return {};
  return {
    'data-counted': 'false',
    title: `Not counted in totals: usage counted on the inner call ${s.spendCountedOn.name}`,
    style: { opacity: 0.5, textDecoration: 'line-through' },
  };
}
