// The SDK asks its IdGenerator for ids; this one hands out the ids the tree plan already drew from the
// seeded stream, so the same seed gives the same trace and span ids on the wire.

import type { IdGenerator } from '@opentelemetry/sdk-trace-base';
import type { Rng } from './random';

export class PlannedIdGenerator implements IdGenerator {
  private nextTraceId: string | null = null;
  private nextSpanId: string | null = null;

  /** Ids without a plan (none are expected) still come from the seeded stream, never Math.random. */
  constructor(private readonly fallback: Rng) {}

  /** Called right before tracer.startSpan, which asks for the ids synchronously. */
  plan(traceId: string, spanId: string): void {
    this.nextTraceId = traceId;
    this.nextSpanId = spanId;
  }

  generateTraceId(): string {
    const id = this.nextTraceId ?? this.fallback.hex(16);
    this.nextTraceId = null;
    return id;
  }

  generateSpanId(): string {
    const id = this.nextSpanId ?? this.fallback.hex(8);
    this.nextSpanId = null;
    return id;
  }
}
