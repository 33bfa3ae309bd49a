'use client';

import { type RefObject, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { Alert } from '@/lib/domain';
import { formatInt } from '../format';
import { SpanDetails } from '../span-details';
import { allParents, type PendingParent, type SpanTree, type TreeNode } from '../span-tree';
import { HEADER_HEIGHT, ROW_HEIGHT, SpanRow, TREE_MIN_WIDTH, TreeHeader, type Scale, type SpendWhole } from '../tree-row';
import { DetachedRow, GroupRow, PendingParentRow } from '../tree/group-rows';
import { hottestPath } from '../tree/hottest';
import type { RepeatIndex } from '../tree/repeats';
import { displayRows, revealing } from '../tree/rows';
import { searchTree } from '../tree/search';
import { VirtualList, type VirtualListHandle } from '../virtual-list';
import { TIMELINE_MAX_TICKS, timeTicks } from './numbers';
import { treeKeys } from './tree-keys';

export interface ExplorerProps {
  traceId: string;
  tree: SpanTree;
  /** The tree's repeated calls (repeatGroups of `tree`). */
  repeats: RepeatIndex;
  /** `tree` is the top of a larger tree of this many spans, whose rest is being read; null when it is whole. */
  of: number | null;
  /** The tree is still running: a span whose parent has not arrived is "parent pending", not orphan. */
  running: boolean;
  nowMs: number;
  alertsBySpan: Map<string, Alert[]>;
  whole: SpendWhole;
  onKill: (node: TreeNode) => void;
  /** Kill the branch of a parent that has not arrived. */
  onKillPending: (parent: PendingParent) => void;
  onRevive: (spanId: string) => void;
  /** Set by the page to reveal a span (an alert's), with a counter so the same span can be asked twice. */
  jump: { spanId: string; seq: number } | null;
}

function readSpanParam(): string | null {
  if (typeof window === 'undefined') return null;
  return new URLSearchParams(window.location.search).get('span');
}

/** The request tree (windowed rows) with its toolbar, and the details panel of the selected span. */
export function Explorer({ traceId, tree, repeats, of, running, nowMs, alertsBySpan, whole, onKill, onKillPending, onRevive, jump }: ExplorerProps) {
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  const [openGroups, setOpenGroups] = useState<ReadonlySet<string>>(() => new Set());
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [query, setQuery] = useState('');
  const [matchAt, setMatchAt] = useState(0);
  const [hot, setHot] = useState<ReadonlySet<string>>(() => new Set());
  const listRef = useRef<VirtualListHandle>(null);

  const { rows, rowOf } = useMemo(() => displayRows(tree, repeats, { collapsed, openGroups }), [tree, repeats, collapsed, openGroups]);
  const matches = useMemo(() => searchTree(tree, query), [tree, query]);
  const matchIds = useMemo(() => new Set(matches.map((m) => m.span.spanId)), [matches]);
  const selectedNode = selectedId ? tree.byId.get(selectedId) : undefined;

  // The waterfall's scale: the whole trace, up to now while spans are running.
  const endMs = Math.max(tree.endMs, running && tree.nodes.some((n) => n.span.running) ? nowMs : 0);
  const durationMs = Math.max(endMs - tree.startMs, 0.001);
  const scale = useMemo<Scale>(() => ({ startMs: tree.startMs, durationMs }), [tree.startMs, durationMs]);
  const { stepMs, ticks } = useMemo(() => timeTicks(durationMs, TIMELINE_MAX_TICKS), [durationMs]);

  // Reveal (open what hides it), select and scroll to a span: deep links, alerts, search, hottest path.
  const [pendingScroll, setPendingScroll] = useState<{ id: string; align: 'nearest' | 'center' } | null>(null);
  const reveal = useCallback(
    (spanId: string, align: 'nearest' | 'center' = 'nearest') => {
      const node = tree.byId.get(spanId);
      if (!node) {
        // A parent that has not arrived (an alert about a running agent names it): its row, opened.
        if (!tree.pendingParents.some((p) => p.spanId === spanId)) return false;
        setCollapsed((prev) => (prev.has(spanId) ? new Set([...prev].filter((id) => id !== spanId)) : prev));
        setSelectedId(spanId);
        setPendingScroll({ id: spanId, align });
        return true;
      }
      const { expand, openGroups: groups } = revealing(tree, node, repeats);
      setCollapsed((prev) => (expand.some((id) => prev.has(id)) ? new Set([...prev].filter((id) => !expand.includes(id))) : prev));
      setOpenGroups((prev) => (groups.every((g) => prev.has(g)) ? prev : new Set([...prev, ...groups])));
      setSelectedId(spanId);
      setPendingScroll({ id: spanId, align });
      return true;
    },
    [tree, repeats],
  );

  // Deep link: /traces/<id>?span=<spanId> opens with that span selected, once it has arrived.
  const deepLinkDone = useRef(false);
  useEffect(() => {
    if (deepLinkDone.current) return;
    const wanted = readSpanParam();
    if (!wanted || reveal(wanted, 'center')) deepLinkDone.current = true;
  }, [reveal]);

  useEffect(() => {
    if (jump) reveal(jump.spanId, 'center');
  }, [jump, reveal]);

  // Mirror the selection into the URL without a navigation (a link to the page opens the same span).
  useEffect(() => {
    if (!deepLinkDone.current) return;
    const url = new URL(window.location.href);
    if (selectedId) url.searchParams.set('span', selectedId);
    else url.searchParams.delete('span');
    if (url.href !== window.location.href) window.history.replaceState(null, '', url.pathname + url.search);
  }, [selectedId]);

  useEffect(() => {
    if (!pendingScroll) return;
    const idx = rowOf.get(pendingScroll.id);
    if (idx !== undefined) {
      listRef.current?.scrollIntoView(idx, pendingScroll.align);
      setPendingScroll(null);
    }
  }, [pendingScroll, rowOf]);

  useKeepScroll(listRef, rows);

  const toggle = useCallback((spanId: string) => {
    setCollapsed((prev) => {
      const next = new Set(prev);
      if (next.has(spanId)) next.delete(spanId);
      else next.add(spanId);
      return next;
    });
  }, []);
  const toggleGroup = useCallback((key: string) => {
    setOpenGroups((prev) => {
      const next = new Set(prev);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });
  }, []);
  const select = useCallback((spanId: string) => setSelectedId((cur) => (cur === spanId ? null : spanId)), []);

  const goToMatch = (k: number) => {
    if (matches.length === 0) return;
    const at = ((k % matches.length) + matches.length) % matches.length;
    setMatchAt(at);
    reveal(matches[at].span.spanId, 'center');
  };
  const followHottest = () => {
    const path = hottestPath(tree);
    if (path.length === 0) return;
    setHot(new Set(path.map((n) => n.span.spanId)));
    reveal(path[path.length - 1].span.spanId, 'center');
  };

  const onKeyDown = treeKeys({ rows, rowOf, selectedId, collapsed, select: setSelectedId, toggle, scrollTo: (i) => listRef.current?.scrollIntoView(i) });

  const spanRows = rows.reduce((n, r) => n + (r.kind === 'span' ? 1 : 0), 0);
  const detached = tree.orphanCount;
  return (
    <div className="explorer">
      <div className="tree-pane">
        <div className="tree-toolbar">
          <span className="muted tree-counts">
            {of !== null ? <>first {formatInt(tree.nodes.length)} of {formatInt(of)} spans, reading the rest…</> : <>{formatInt(tree.nodes.length)} spans · {formatInt(spanRows)} shown</>}
            {repeats.groups.length > 0 && <> · {formatInt(repeats.groups.length)} repeated call{repeats.groups.length === 1 ? '' : 's'}</>}
            {detached > 0 && (
              <>
                {' '}
                · <span className="warn">{formatInt(detached)} {running ? 'parent pending' : 'missing parent'}</span>
              </>
            )}
          </span>
          <span className="tree-toolbar-actions">
            <label className="tree-search">
              <span className="sr-only">Search in this tree</span>
              <input
                type="search"
                placeholder="Find in tree"
                value={query}
                aria-label="Search in this tree"
                onChange={(e) => {
                  setQuery(e.target.value);
                  setMatchAt(0);
                }}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') goToMatch(e.shiftKey ? matchAt - 1 : query === '' ? 0 : matchAt + (selectedId === matches[matchAt]?.span.spanId ? 1 : 0));
                }}
                spellCheck={false}
              />
            </label>
            {query.trim() !== '' && (
              <span className="match-nav" data-testid="tree-matches">
                {matches.length === 0 ? 'no match' : `${Math.min(matchAt + 1, matches.length)} of ${formatInt(matches.length)}`}
                <button type="button" className="btn btn-small" onClick={() => goToMatch(matchAt - 1)} disabled={matches.length === 0} aria-label="Previous match">
                  ↑
                </button>
                <button type="button" className="btn btn-small" onClick={() => goToMatch(matchAt + 1)} disabled={matches.length === 0} aria-label="Next match">
                  ↓
                </button>
              </span>
            )}
            <button type="button" className="btn btn-small" onClick={followHottest} title="Open the most expensive branch, child by child, down to its leaf">
              Hottest path
            </button>
            <button type="button" className="btn btn-small" onClick={() => (setCollapsed(new Set()), setOpenGroups(new Set(repeats.groups.map((g) => g.key))))}>
              Expand all
            </button>
            <button type="button" className="btn btn-small" onClick={() => (setCollapsed(allParents(tree)), setOpenGroups(new Set()))}>
              Collapse all
            </button>
          </span>
        </div>
        <VirtualList
          handleRef={listRef}
          className="tree"
          role="tree"
          aria-label="Request tree"
          aria-multiselectable={false}
          tabIndex={0}
          onKeyDown={onKeyDown}
          count={rows.length}
          pending={of !== null ? Math.max(0, of - tree.nodes.length) : 0}
          rowHeight={ROW_HEIGHT}
          headerHeight={HEADER_HEIGHT}
          minContentWidth={TREE_MIN_WIDTH}
          style={{ ['--tick' as string]: `${(stepMs / durationMs) * 100}%` }}
          header={<TreeHeader ticks={ticks} />}
          renderRow={(i, top) => {
            const row = rows[i];
            if (row.kind === 'detached') return <DetachedRow key={row.key} tops={row.tops} spans={row.spans} pending={running} top={top} />;
            if (row.kind === 'parent') {
              const id = row.parent.spanId;
              return (
                <PendingParentRow
                  key={row.key}
                  parent={row.parent}
                  collapsed={row.collapsed}
                  running={running}
                  selected={id === selectedId}
                  top={top}
                  scale={scale}
                  whole={whole}
                  alerts={alertsBySpan.get(id)}
                  onToggle={toggle}
                  onSelect={select}
                  onKill={onKillPending}
                  onRevive={onRevive}
                />
              );
            }
            if (row.kind === 'group') {
              const alerts = [...new Set(row.group.members.flatMap((m) => alertsBySpan.get(m.span.spanId) ?? []))];
              return <GroupRow key={row.key} group={row.group} level={row.level} open={row.open} top={top} scale={scale} whole={whole} alerts={alerts.length ? alerts : undefined} onToggle={toggleGroup} />;
            }
            const { node } = row;
            const id = node.span.spanId;
            return (
              <SpanRow
                key={id}
                node={node}
                top={top}
                selected={id === selectedId}
                collapsed={collapsed.has(id)}
                scale={scale}
                nowMs={node.span.running ? nowMs : 0}
                whole={whole}
                alerts={alertsBySpan.get(id)}
                pending={running}
                hot={hot.has(id)}
                match={matchIds.has(id)}
                onToggle={toggle}
                onSelect={select}
                onKill={onKill}
                onRevive={onRevive}
              />
            );
          }}
        />
      </div>
      {selectedNode && (
        <SpanDetails
          key={selectedNode.span.spanId}
          node={selectedNode}
          traceId={traceId}
          traceStartMs={tree.startMs}
          nowMs={nowMs}
          pending={running}
          alerts={alertsBySpan.get(selectedNode.span.spanId) ?? []}
          onClose={() => setSelectedId(null)}
          onSelect={(id) => reveal(id)}
          onKill={onKill}
          onRevive={onRevive}
        />
      )}
    </div>
  );
}

/**
 * Rows added above the ones in view (a live tree growing) must not push them down: the first row in view stays
 * where it was. At the very top the list stays at the top, so new roots and early spans show.
 */
function useKeepScroll(listRef: RefObject<VirtualListHandle | null>, rows: readonly { key: string }[]) {
  const prev = useRef<readonly { key: string }[]>(rows);
  useLayoutEffect(() => {
    const before = prev.current;
    prev.current = rows;
    const el = listRef.current?.element();
    if (!el || before === rows || el.scrollTop <= 0) return;
    const firstShown = Math.min(before.length - 1, Math.floor(el.scrollTop / ROW_HEIGHT));
    const anchor = before[firstShown]?.key;
    if (anchor === undefined || rows[firstShown]?.key === anchor) return;
    const now = rows.findIndex((r) => r.key === anchor);
    if (now >= 0) el.scrollTop += (now - firstShown) * ROW_HEIGHT;
  }, [rows, listRef]);
}
