// The detector's side of judging in the ingest stream (stream-judge.ts): which exports carried each tree
// lately, and the judgements the ingest workers made of whole trees. A judgement is a candidate for the stored
// tree only when the exports it was made from are all those of the last minute or two that carried the tree;
// the detector then checks that storage holds exactly that many spans of it (the trace index's count) before
// using it. Anything else — a tree split over exports, re-sent, written by another process or before a
// restart — is read from storage as before.
import type { StreamJudged, StreamTree } from './stream-judge';

/** Two generations of this length are remembered: every export of the last GENERATION_MS at least. */
const GENERATION_MS = 60_000;

interface Generation {
  fromMs: number;
  /** Exports that carried each tree. */
  seen: Map<string, number>;
  judged: Map<string, StreamJudged>;
}

export class StreamBook {
  private current: Generation;
  private previous: Generation | null = null;

  constructor(private readonly now: () => number) {
    this.current = { fromMs: now(), seen: new Map(), judged: new Map() };
  }

  /** An export's trees, as its worker reported them. */
  add(trees: readonly StreamTree[]): void {
    this.rotate();
    const { seen, judged } = this.current;
    for (const t of trees) {
      seen.set(t.traceId, (seen.get(t.traceId) ?? 0) + 1);
      if (t.judged) judged.set(t.traceId, t.judged);
    }
  }

  /**
   * The worker's judgement of a tree, when it is a candidate: made from every export that carried the tree lately
   * (another worker, or a process before, may have had some), with the settings in force. Taken once.
   */
  take(traceId: string, settingsVersion: number): StreamJudged | null {
    this.rotate();
    const prev = this.previous;
    const judged = this.current.judged.get(traceId) ?? prev?.judged.get(traceId);
    if (!judged) return null;
    this.current.judged.delete(traceId);
    prev?.judged.delete(traceId);
    const exports = (this.current.seen.get(traceId) ?? 0) + (prev?.seen.get(traceId) ?? 0);
    return exports === judged.exports && judged.settingsVersion === settingsVersion ? judged : null;
  }

  /** A judgement taken too early (the last of its exports not stored yet): a candidate again when the tree is next due. */
  putBack(traceId: string, judged: StreamJudged): void {
    this.rotate();
    this.current.judged.set(traceId, judged);
  }

  private rotate(): void {
    const t = this.now();
    if (t - this.current.fromMs < GENERATION_MS) return;
    this.previous = this.current;
    this.current = { fromMs: t, seen: new Map(), judged: new Map() };
  }
}
