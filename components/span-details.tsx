'use client';

import { Fragment, type ReactNode, useMemo, useState } from 'react';
import type { SpanView } from '@/lib/domain';
import { CategoryBadge, KilledBadge, OrphanBadge, SpanStatusBadge } from './badges';
import { Cost, SpanCost } from './cost';
import { formatAbsolute, formatDuration, formatInt } from './format';
import { isModelCall, type TreeNode } from './span-tree';

const LONG_VALUE = 1200;

export function SpanDetails({
  node,
  onClose,
  onSelect,
}: {
  node: TreeNode;
  onClose: () => void;
  onSelect: (spanId: string) => void;
}) {
  const s = node.span;
  const attrs = useMemo(
    () => Object.entries(s.attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    [s.attributes],
  );
  const modelCall = isModelCall(s);

  return (
    <aside className="details" aria-label="Span details" data-testid="span-details">
      <div className="details-head">
        <div className="details-title">
          <div className="details-badges">
            <CategoryBadge category={s.category} />
            <SpanStatusBadge status={s.status} />
            {node.detached && <OrphanBadge />}
            {s.killed && <KilledBadge span={s} />}
          </div>
          <h2 className="details-name">{s.name}</h2>
        </div>
        <button type="button" className="btn btn-ghost btn-icon" onClick={onClose} aria-label="Close span details">
          ×
        </button>
      </div>

      <div className="details-body">
        <section>
          <h3>Spend</h3>
          <div className="spend-grid">
            <div className="spend-cell">
              <span className="label">This span{s.spendCountedOn ? ' (not counted)' : ''}</span>
              <span className="value">
                {formatInt(s.inputTokens)} in · {formatInt(s.outputTokens)} out
              </span>
              <span className="value">
                <SpanCost usd={s.costUsd} isModelCall={modelCall} />
              </span>
            </div>
            <div className="spend-cell spend-subtree">
              <span className="label">Subtree ({formatInt(s.rollup.spanCount)} spans)</span>
              <span className="value">
                {formatInt(s.rollup.inputTokens)} in · {formatInt(s.rollup.outputTokens)} out
              </span>
              <span className="value">
                <Cost
                  usd={s.rollup.costUsd}
                  unpriced={node.span.rollup.unpricedSpans}
                  hasUsage={s.rollup.inputTokens + s.rollup.outputTokens > 0}
                />
              </span>
            </div>
          </div>
          {s.spendCountedOn && <NotCounted span={s} onSelect={onSelect} />}
        </section>

        <section>
          <h3>Span</h3>
          <dl className="kv">
            <Row k="Span ID" mono>
              {s.spanId}
            </Row>
            <Row k="Parent">
              {s.parentSpanId ? (
                node.parent ? (
                  <button type="button" className="link-button mono" onClick={() => onSelect(s.parentSpanId!)}>
                    {s.parentSpanId}
                  </button>
                ) : (
                  <span>
                    <span className="mono">{s.parentSpanId}</span> <span className="muted">(never arrived)</span>
                  </span>
                )
              ) : (
                <span className="muted">none (root)</span>
              )}
            </Row>
            <Row k="Service">{s.serviceName}</Row>
            {s.model && <Row k="Model">{s.model}</Row>}
            {s.provider && <Row k="Provider">{s.provider}</Row>}
            {s.agentName && <Row k="Agent">{s.agentName}</Row>}
            {s.toolName && <Row k="Tool">{s.toolName}</Row>}
            <Row k="Start">{formatAbsolute(s.startTime)}</Row>
            <Row k="Duration">{formatDuration(s.durationMs)}</Row>
            <Row k="Depth">{formatInt(s.depth)}</Row>
            <Row k="Status">
              {s.status}
              {s.statusMessage && <span className="status-message"> — {s.statusMessage}</span>}
            </Row>
            {s.errorType && <Row k="Error type">{s.errorType}</Row>}
            {s.callSignature && (
              <Row k="Call signature" mono>
                {s.callSignature}
              </Row>
            )}
          </dl>
        </section>

        <section>
          <h3>
            Attributes <span className="muted">({attrs.length})</span>
          </h3>
          {attrs.length === 0 ? (
            <p className="muted">No attributes.</p>
          ) : (
            <table className="attr-table">
              <tbody>
                {attrs.map(([k, v]) => (
                  <tr key={k}>
                    <th scope="row" className="mono" title={k}>
                      <AttrKey name={k} />
                    </th>
                    <td>
                      <AttrValue value={v} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
    </aside>
  );
}

/** Why a model call's own usage is not in the totals, and a link to the span that counts it. */
function NotCounted({ span, onSelect }: { span: SpanView; onSelect: (spanId: string) => void }) {
  const on = span.spendCountedOn!;
  const sameUsage = span.rollup.inputTokens === span.inputTokens && span.rollup.outputTokens === span.outputTokens;
  const why =
    on.reason === 'same-call'
      ? 'another instrumentation reported this same call'
      : sameUsage
        ? 'its model call below reports the same usage'
        : 'the model calls below it report this usage';
  return (
    <p className="muted" data-testid="spend-not-counted">
      Not counted in totals: {why}. Usage counted on the inner call{' '}
      <button type="button" className="link-button" onClick={() => onSelect(on.spanId)}>
        {on.name}
      </button>
      {on.reason === 'below' && !sameUsage ? ' and the other calls below it.' : '.'}
    </p>
  );
}

/** Dotted attribute names may wrap after a dot instead of mid-word. */
function AttrKey({ name }: { name: string }) {
  const parts = name.split('.');
  return (
    <>
      {parts.map((p, i) => (
        <Fragment key={i}>
          {p}
          {i < parts.length - 1 && (
            <>
              .<wbr />
            </>
          )}
        </Fragment>
      ))}
    </>
  );
}

function Row({ k, mono, children }: { k: string; mono?: boolean; children: ReactNode }) {
  return (
    <>
      <dt>{k}</dt>
      <dd className={mono ? 'mono' : undefined}>{children}</dd>
    </>
  );
}

/** Attribute values are arbitrary (prompts, tool arguments): always text, JSON pretty-printed, long ones clipped. */
function AttrValue({ value }: { value: string }) {
  const [expanded, setExpanded] = useState(false);
  const pretty = useMemo(() => {
    const t = value.trimStart();
    if (value.length > 200_000 || !(t.startsWith('{') || t.startsWith('['))) return value;
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }, [value]);
  const long = pretty.length > LONG_VALUE;
  return (
    <>
      <pre className="attr-value">{long && !expanded ? `${pretty.slice(0, LONG_VALUE)}…` : pretty}</pre>
      {long && (
        <button type="button" className="link-button" onClick={() => setExpanded((e) => !e)}>
          {expanded ? 'Show less' : `Show all (${formatInt(pretty.length)} chars)`}
        </button>
      )}
    </>
  );
}
