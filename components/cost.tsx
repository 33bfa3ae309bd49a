import { formatUsd } from './format';

/**
 * Spend for a trace or subtree. Unpriced model calls are never folded into a "$0": when nothing is
 * priced the cell says so, and when some calls are priced the unpriced ones are counted alongside.
 */
export function Cost({
  usd,
  unpriced,
  hasUsage = true,
  compact = false,
}: {
  usd: number;
  unpriced: number;
  hasUsage?: boolean;
  /** Narrow cells: the unpriced count becomes a small "+N" marker (full text in the tooltip). */
  compact?: boolean;
}) {
  if (unpriced > 0 && usd === 0) {
    return (
      <span className="cost unpriced" title={`${unpriced} model call(s) with no known price`}>
        unpriced: {unpriced}
      </span>
    );
  }
  if (unpriced > 0 && compact) {
    // Narrow cells: the count only, so the amount itself is never the part cut off (the full text is the tooltip).
    return (
      <span className="cost" title={`${formatUsd(usd)} for priced calls; ${unpriced} call(s) have no known price`}>
        {formatUsd(usd)}
        <span className="unpriced-mark" aria-label={`plus ${unpriced} unpriced`}>
          +{unpriced}
        </span>
      </span>
    );
  }
  if (unpriced > 0) {
    return (
      <span className="cost" title={`${formatUsd(usd)} for priced calls; ${unpriced} call(s) have no known price`}>
        {formatUsd(usd)} <span className="unpriced">+ unpriced: {unpriced}</span>
      </span>
    );
  }
  if (usd === 0 && !hasUsage) return <span className="muted">—</span>;
  return <span className="cost">{formatUsd(usd)}</span>;
}

/** A single span's own cost: null means the model call has no known price. */
export function SpanCost({ usd, isModelCall }: { usd: number | null; isModelCall: boolean }) {
  if (usd === null) {
    return isModelCall ? (
      <span className="cost unpriced" title="No known price for this model">
        unpriced
      </span>
    ) : (
      <span className="muted">—</span>
    );
  }
  if (usd === 0 && !isModelCall) return <span className="muted">—</span>;
  return <span className="cost">{formatUsd(usd)}</span>;
}
