import 'server-only';
// A long synchronous loop on the main thread (the detector's batch of a thousand trees, a flush of thousands of
// history rows) holds the event loop: exports wait for their acknowledgement and the control API for its answer.
// Cut into slices of a few milliseconds, with pending I/O handled between them (setImmediate runs after it),
// the loop costs the same and nothing waits behind it for long. At full ingest the detector's batches held the
// loop 40–100 ms at a time (event-loop lag p99 45–85 ms with the detector on, ~25 ms off).

/** The slice a loop may run before letting pending I/O through. */
const SLICE_MS = 4;

export class EventLoopSlices {
  private since = performance.now();

  constructor(private readonly sliceMs = SLICE_MS) {}

  /** Whether this slice is used up: then `await pause()` (checked per item, it costs one clock read). */
  due(): boolean {
    return performance.now() - this.since >= this.sliceMs;
  }

  /** Lets whatever waits run, and starts the next slice. */
  async pause(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.since = performance.now();
  }
}
