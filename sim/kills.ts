// How a simulated agent learns that its tree or a branch of it was killed: through the SDK (sdk/), as a real
// agent would. One KillWatcher per simulator process holds the one event stream; the SDK's start processor
// (added to the simulator's tracer providers, reporting nothing) records every span's parent, so a check between
// steps is a lookup in memory, not a request, and after a reconnect the watcher asks about the trees running here.
import type { KillWatcher } from '../sdk/src/index';

export interface KillStatus {
  killed: boolean;
  /** Roots of killed branches: a span is killed when it or an ancestor is listed. */
  spanIds: string[];
  traceKilled: boolean;
}

export const NOT_KILLED: KillStatus = Object.freeze({ killed: false, spanIds: [], traceKilled: false }) as KillStatus;

/** A running span to ask about, with the span ids above it (nearest first). */
export interface SpanAsk {
  spanId: string;
  ancestors: readonly string[];
}

export interface KillChecker {
  /** The tree's kills as far as known; `spans` lists the running spans to ask about (none: the whole tree only). */
  status(traceId: string, spans?: () => readonly SpanAsk[]): Promise<KillStatus>;
  forget(traceId: string): void;
}

/** How often a simulated agent looks for a kill while it waits between slow steps (sim/simulate.ts). */
export const KILL_CHECK_MS = 250;

export class SdkKillChecker implements KillChecker {
  constructor(private readonly watcher: KillWatcher) {}

  async status(traceId: string, spans?: () => readonly SpanAsk[]): Promise<KillStatus> {
    const asks = spans?.() ?? [];
    const spanIds = new Set<string>();
    // The plan knows every span's ancestry up to the root, should the watcher not have recorded it.
    for (const ask of asks.length ? asks : [null]) {
      const killed = this.watcher.check(ask ? { traceId, spanId: ask.spanId, ancestors: ask.ancestors, rootReached: true } : { traceId });
      if (!killed) continue;
      if (killed.scope === 'tree') return { killed: true, spanIds: [], traceKilled: true };
      if (killed.spanId) spanIds.add(killed.spanId);
    }
    return spanIds.size ? { killed: true, spanIds: [...spanIds], traceKilled: false } : NOT_KILLED;
  }

  forget(): void {
    // Nothing to let go: the watcher forgets a tree's spans once they ended.
  }
}
