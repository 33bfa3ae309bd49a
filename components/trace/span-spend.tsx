'use client';

import type { SpanView } from '@/lib/domain';
import { Cost, SpanCost } from '../cost';
import { formatInt } from '../format';
import { isModelCall } from '../span-tree';

/** Explicit cost parts some conventions record (OpenInference's llm.cost.*, gen_ai.usage.cost): shown as given. */
function costAttributes(a: Record<string, string>): [string, string][] {
  return Object.entries(a)
    .filter(([k]) => k.startsWith('llm.cost.') || k.startsWith('gen_ai.usage.cost'))
    .sort(([x], [y]) => (x < y ? -1 : 1));
}

/**
 * The span's own spend (model calls only: a tool or agent span has none of its own, so no empty box) and its
 * branch's; then what the cost is made of, as far as the span reports it: input tokens (of which cache reads and
 * writes), output tokens, and explicit cost parts.
 */
export function SpanSpend({ span: s, onSelect }: { span: SpanView; onSelect: (spanId: string) => void }) {
  const modelCall = isModelCall(s);
  const branchUsage = s.rollup.inputTokens + s.rollup.outputTokens > 0 || s.rollup.unpricedSpans > 0 || s.rollup.costUsd > 0;
  const hasBranch = s.rollup.spanCount > 1 && branchUsage;
  if (!modelCall && !hasBranch) return null;
  const cacheRead = s.cacheReadTokens ?? 0;
  const cacheWrite = s.cacheWriteTokens ?? 0;
  const parts = costAttributes(s.attributes ?? {});
  return (
    <section data-testid="span-spend">
      <h3>Spend</h3>
      <div className="spend-grid">
        {modelCall && (
          <div className="spend-cell" data-testid="own-spend">
            <span className="label">This call{s.spendCountedOn ? ' (not counted)' : ''}</span>
            <span className="value">
              {formatInt(s.inputTokens)} in · {formatInt(s.outputTokens)} out
            </span>
            <span className="value">
              <SpanCost usd={s.costUsd} isModelCall />
            </span>
          </div>
        )}
        {hasBranch && (
          <div className="spend-cell spend-subtree" data-testid="branch-spend">
            <span className="label">Branch ({formatInt(s.rollup.spanCount)} spans)</span>
            <span className="value">
              {formatInt(s.rollup.inputTokens)} in · {formatInt(s.rollup.outputTokens)} out
            </span>
            <span className="value">
              <Cost usd={s.rollup.costUsd} unpriced={s.rollup.unpricedSpans} hasUsage={branchUsage} />
            </span>
          </div>
        )}
      </div>
      {s.spendCountedOn && <NotCounted span={s} onSelect={onSelect} />}
      {modelCall && (
        <table className="breakdown" data-testid="cost-breakdown">
          <caption className="sr-only">What this call&apos;s cost is made of</caption>
          <tbody>
            <tr>
              <th scope="row">Input tokens</th>
              <td className="num">{formatInt(s.inputTokens)}</td>
            </tr>
            {cacheRead > 0 && (
              <tr>
                <th scope="row">↳ read from cache</th>
                <td className="num">{formatInt(cacheRead)}</td>
              </tr>
            )}
            {cacheWrite > 0 && (
              <tr>
                <th scope="row">↳ written to cache</th>
                <td className="num">{formatInt(cacheWrite)}</td>
              </tr>
            )}
            <tr>
              <th scope="row">Output tokens</th>
              <td className="num">{formatInt(s.outputTokens)}</td>
            </tr>
            {parts.map(([k, v]) => (
              <tr key={k}>
                <th scope="row" className="mono">
                  {k}
                </th>
                <td className="num">{v}</td>
              </tr>
            ))}
            <tr className="breakdown-total">
              <th scope="row">Cost{s.model ? ` (${s.model})` : ''}</th>
              <td className="num">
                <SpanCost usd={s.costUsd} isModelCall />
              </td>
            </tr>
          </tbody>
        </table>
      )}
    </section>
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
