// The trees this process's ingest stored, told as it stores them (ingest/stored-exports.ts): on the embedded
// store, whose only writer is this process, the tick takes its due trees from here and reads the activity index
// only to catch up (at start, and whenever a stored export went untold). Each read of the index was ~30 ms of the
// engine at full ingest, once a tick, and the engine runs one statement at a time: ingest's next insert waited.
import type { StoredCounts } from './stored-counts';

/** Where stored exports are told of: the ingest service's StoredExports. */
export interface StoredTrees {
  onStored(listener: ((traceIds: string, fromMs: number, whole: boolean) => void) | null): void;
  /** Every export whose rows went to the writers before this time (ms) has been told of. */
  toldThroughMs(): number;
}

const TRACE_ID_LENGTH = 32;

export class StoredFeed {
  /** Trees told since the last take: when the latest insert that stored spans of each began (ms). */
  private told = new Map<string, number>();
  /** When the earliest insert told since the last take began. */
  private toldFromMs = Infinity;
  /** An export was stored untold from here (ms): the activity index must be read again from there. */
  private lostFromMs: number | null = null;

  /**
   * `counts`: told every listed export too (stored-counts.ts), whatever the feed holds. `max`: trees held between
   * two takes; past it (the detector stalled), the index is read instead.
   */
  constructor(
    private readonly source: StoredTrees,
    private readonly counts: StoredCounts | null = null,
    private readonly max = 100_000,
  ) {}

  start(): void {
    this.source.onStored((ids, fromMs, whole) => this.add(ids, fromMs, whole));
  }

  stop(): void {
    this.source.onStored(null);
  }

  /** The trees told since the last take, and from when the activity index must be read (null: nothing lost). */
  take(): { trees: Map<string, number>; lostFromMs: number | null } {
    const out = { trees: this.told, lostFromMs: this.lostFromMs };
    this.told = new Map();
    this.toldFromMs = Infinity;
    this.lostFromMs = null;
    return out;
  }

  /**
   * Stored trees not in a take yet are stored after this time (ms): the saved watermark must not pass it, or
   * a restart would not judge them.
   */
  heldFromMs(): number {
    return Math.min(this.source.toldThroughMs(), this.toldFromMs, this.lostFromMs ?? Infinity);
  }

  private add(joined: string, fromMs: number, whole: boolean): void {
    const ids: string[] = [];
    for (let i = 0; i + TRACE_ID_LENGTH <= joined.length; i += TRACE_ID_LENGTH) ids.push(joined.slice(i, i + TRACE_ID_LENGTH));
    // Counted whatever the feed holds (the counts say "unknown" for a tree they missed, never a wrong number).
    if (ids.length > 0) this.counts?.add(ids, whole);
    // Not listed (an ingest worker that had no detector yet) or too many held: read from storage instead.
    if (ids.length === 0 || this.told.size >= this.max) {
      if (this.lostFromMs === null || fromMs < this.lostFromMs) this.lostFromMs = fromMs;
      return;
    }
    if (fromMs < this.toldFromMs) this.toldFromMs = fromMs;
    for (const id of ids) {
      const held = this.told.get(id);
      if (held === undefined || fromMs > held) this.told.set(id, fromMs);
    }
  }
}
