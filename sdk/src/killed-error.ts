// What a killed agent gets: thrown by assertAlive, and the reason of a killSignal's abort.
import type { KillScope } from './wire.js';

/** `unreachable`: not a kill, but `failClosed` stopping work after Canopy could not be reached for too long. */
export type KilledScope = KillScope | 'unreachable';

const BRAND = Symbol.for('@canopy/sdk/KilledError');

export class KilledError extends Error {
  override readonly name = 'KilledError';
  readonly traceId: string | null;
  /** The root of the killed branch; null for a whole-tree kill (and for `unreachable`). */
  readonly spanId: string | null;
  readonly scope: KilledScope;
  readonly reason: string;
  /** When the kill was made (ISO-8601). */
  readonly killedAt: string;

  constructor(fields: { traceId: string | null; spanId: string | null; scope: KilledScope; reason: string; killedAt: string }) {
    super(describe(fields));
    this.traceId = fields.traceId;
    this.spanId = fields.spanId;
    this.scope = fields.scope;
    this.reason = fields.reason;
    this.killedAt = fields.killedAt;
    (this as unknown as Record<symbol, true>)[BRAND] = true;
  }
}

/** True for a KilledError from any copy of this package (where `instanceof` would say no). */
export function isKilledError(error: unknown): error is KilledError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}

function describe(f: { traceId: string | null; spanId: string | null; scope: KilledScope; reason: string }): string {
  const why = f.reason ? `: ${f.reason}` : '';
  if (f.scope === 'unreachable') return `Canopy unreachable and failClosed is on${why}`;
  if (f.scope === 'tree') return `Canopy killed request tree ${f.traceId}${why}`;
  return `Canopy killed the branch under span ${f.spanId} of trace ${f.traceId}${why}`;
}
