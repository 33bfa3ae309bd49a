'use client';

import { Fragment, type ReactNode, useMemo } from 'react';
import type { Alert, SpanView } from '@/lib/domain';
import { CategoryBadge, KilledBadge, LiveBadge, OrphanBadge, PendingParentBadge, SeverityBadge, SpanStatusBadge } from './badges';
import { formatAbsolute, formatDuration, formatInt } from './format';
import type { TreeNode } from './span-tree';
import { CopyableId } from './trace/copy-button';
import { spanExtent } from './trace/numbers';
import { LongText, SpanError, SpanIo } from './trace/span-io';
import { SpanSpend } from './trace/span-spend';

export interface SpanDetailsProps {
  node: TreeNode;
  traceId: string;
  traceStartMs: number;
  nowMs: number;
  /** Its parent has not arrived while the tree runs. */
  pending: boolean;
  alerts: readonly Alert[];
  onClose: () => void;
  onSelect: (spanId: string) => void;
  onKill: (node: TreeNode) => void;
  onRevive: (spanId: string) => void;
}

export function SpanDetails(p: SpanDetailsProps) {
  const { node } = p;
  const s = node.span;
  const attrs = useMemo(() => Object.entries(s.attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)), [s.attributes]);
  const killRoot = s.killed && s.killedBy?.scope === 'branch' && s.killedBy.spanId === s.spanId;

  return (
    <aside className="details" aria-label="Span details" data-testid="span-details">
      <div className="details-head">
        <div className="details-title">
          <div className="details-badges">
            <CategoryBadge category={s.category} />
            <SpanStatusBadge status={s.status} />
            {s.running && <LiveBadge />}
            {node.detached && (p.pending ? <PendingParentBadge /> : <OrphanBadge />)}
            {s.killed && <KilledBadge span={s} />}
          </div>
          <h2 className="details-name">{s.name}</h2>
          <div className="details-actions">
            {killRoot ? (
              <button type="button" className="btn btn-small" onClick={() => p.onRevive(s.spanId)}>
                Revive branch
              </button>
            ) : (
              !s.killed && (
                <button type="button" className="btn btn-small btn-danger-outline" onClick={() => p.onKill(node)}>
                  Kill branch
                </button>
              )
            )}
          </div>
        </div>
        <button type="button" className="btn btn-ghost btn-icon" onClick={p.onClose} aria-label="Close span details">
          ×
        </button>
      </div>

      <div className="details-body">
        {p.alerts.length > 0 && (
          <section data-testid="span-alerts">
            <h3>Alerts</h3>
            <ul className="span-alerts">
              {p.alerts.map((a) => (
                <li key={a.id}>
                  <SeverityBadge severity={a.severity} /> {a.title}
                  {a.status !== 'open' && <span className="muted"> ({a.status})</span>}
                </li>
              ))}
            </ul>
          </section>
        )}
        <SpanError span={s} />
        <SpanIo span={s} />
        <SpanSpend span={s} onSelect={p.onSelect} />
        <Timing span={s} traceStartMs={p.traceStartMs} nowMs={p.nowMs} />
        <section>
          <h3>Span</h3>
          <dl className="kv">
            <Row k="Span ID">
              <CopyableId value={s.spanId} label="span ID" />
            </Row>
            <Row k="Parent">
              <Parent node={node} pending={p.pending} onSelect={p.onSelect} />
            </Row>
            <Row k="Trace ID">
              <CopyableId value={p.traceId} label="trace ID" />
            </Row>
            <Row k="Service">{s.serviceName}</Row>
            {s.model && <Row k="Model">{s.model}</Row>}
            {s.provider && <Row k="Provider">{s.provider}</Row>}
            {s.agentName && <Row k="Agent">{s.agentName}</Row>}
            {s.toolName && <Row k="Tool">{s.toolName}</Row>}
            <Row k="Depth">{formatInt(s.depth)}</Row>
            <Row k="Status">
              {s.status}
              {s.statusMessage && <span className="status-message"> — {s.statusMessage}</span>}
            </Row>
            {s.callSignature && (
              <Row k="Call signature">
                <span className="mono">{s.callSignature}</span>
                <p className="muted signature-help">{signatureHelp(s)}</p>
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

function Timing({ span: s, traceStartMs, nowMs }: { span: SpanView; traceStartMs: number; nowMs: number }) {
  const { startMs, endMs } = spanExtent(s, nowMs);
  return (
    <section data-testid="span-timing">
      <h3>Timing</h3>
      <dl className="kv">
        <Row k="Started">
          {formatAbsolute(s.startTime)} <span className="muted">(+{formatDuration(Math.max(0, startMs - traceStartMs))} into the trace)</span>
        </Row>
        <Row k="Ended">{s.running ? <span className="muted">still running</span> : formatAbsolute(s.endTime)}</Row>
        <Row k="Duration">
          {formatDuration(endMs - startMs)}
          {s.running && <span className="muted"> so far</span>}
        </Row>
      </dl>
    </section>
  );
}

function Parent({ node, pending, onSelect }: { node: TreeNode; pending: boolean; onSelect: (spanId: string) => void }) {
  const id = node.span.parentSpanId;
  if (!id) return <span className="muted">none (root)</span>;
  if (node.parent)
    return (
      <span className="copyable">
        <button type="button" className="link-button mono" onClick={() => onSelect(id)} title="Show the parent span">
          {id}
        </button>
      </span>
    );
  return (
    <span>
      <CopyableId value={id} label="parent span ID" /> <span className="muted">({pending ? 'not reported yet' : 'never arrived'})</span>
    </span>
  );
}

/** What the call signature is, in words: the hash the loop rules compare. */
function signatureHelp(s: SpanView): string {
  const what =
    s.category === 'tool'
      ? 'the tool and its arguments (ids and timestamps that change on every call left out)'
      : s.category === 'llm' || s.category === 'embedding'
        ? 'the model and its input (the prompt, or the call’s name when no prompt was recorded)'
        : 'the agent’s name';
  return `A hash of ${what}. Siblings with the same signature are the same call made again: the tree groups them, and the loop rules count them.`;
}

/** Dotted attribute names may wrap after a dot instead of mid-word. */
function AttrKey({ name }: { name: string }) {
  const parts = name.split('.');
  return (
    <>
      {parts.map((part, i) => (
        <Fragment key={i}>
          {part}
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

function Row({ k, children }: { k: string; children: ReactNode }) {
  return (
    <>
      <dt>{k}</dt>
      <dd>{children}</dd>
    </>
  );
}

/** Attribute values are arbitrary (prompts, tool arguments): always text, JSON pretty-printed, long ones clipped. */
function AttrValue({ value }: { value: string }) {
  const pretty = useMemo(() => {
    const t = value.trimStart();
    if (value.length > 200_000 || !(t.startsWith('{') || t.startsWith('['))) return value;
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }, [value]);
  return <LongText text={pretty} />;
}
