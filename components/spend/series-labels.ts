// Names and colours of the spend page's series. Pure: no React.
import type { SpendDimension, SpendSeries } from '@/lib/domain/spend';

export const DIMENSION_LABEL: Record<SpendDimension, string> = { model: 'Model', service: 'Service', rootName: 'Root name' };
const PLURAL: Record<SpendDimension, string> = { model: 'models', service: 'services', rootName: 'root names' };
const NONE: Record<SpendDimension, string> = { model: '(no model name)', service: '(no service name)', rootName: '(root not received)' };

export function seriesLabel(s: Pick<SpendSeries, 'key' | 'other' | 'keys'>, dimension: SpendDimension): string {
  if (s.other) return `Other (${s.keys} ${s.keys === 1 ? PLURAL[dimension].replace(/s$/, '') : PLURAL[dimension]})`;
  return s.key === '' ? NONE[dimension] : s.key;
}

/** Series colours are theme variables (globals.css, light and dark); "other" is always the neutral one. */
export function seriesColor(index: number, other: boolean): string {
  return other ? 'var(--series-other)' : `var(--series-${(index % 8) + 1})`;
}
