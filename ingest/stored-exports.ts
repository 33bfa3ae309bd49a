// Which exports' spans are stored, told as they are: on the embedded store this process is the only writer, so
// a detector in it learns of the trees to judge from here instead of reading the activity index every tick
// (detector/stored-feed.ts). Each export's traces come listed by the ingest worker that prepared it.

/** `whole`: every write of the export stored (else part of it was refused, and its exporter sends it again). */
export type StoredListener = (traceIds: string, fromMs: number, whole: boolean) => void;

interface Writing {
  at: number;
}

export class StoredExports {
  private listener: StoredListener | null = null;
  private readonly writing = new Set<Writing>();

  /** One listener (null: none), told each export's traces (32-hex ids joined; '' when not listed) and when the insert that stored them began. */
  onStored(listener: StoredListener | null): void {
    this.listener = listener;
  }

  /**
   * Every export whose rows went to the writers before this time (ms) has been told of, or stored nothing: a
   * watermark saved no later than it misses no stored tree, whichever insert finishes first.
   */
  toldThroughMs(): number {
    let through = Date.now();
    for (const w of this.writing) if (w.at < through) through = w.at;
    return through;
  }

  /** An export's rows go to the writers now; `stored` is called once its writes have settled. */
  begin(): Writing {
    const w = { at: Date.now() };
    this.writing.add(w);
    return w;
  }

  /**
   * Its writes settled: stored from `fromMs` (the earliest insert that stored any of its rows), or not at all
   * (null); `whole` when none was refused.
   */
  stored(w: Writing, traceIds: string, fromMs: number | null, whole: boolean): void {
    this.writing.delete(w);
    if (fromMs !== null) this.listener?.(traceIds, fromMs, whole);
  }
}
