import type { Log } from './services';

// State shared by every Canopy process on one ClickHouse server (kills, budgets) is written to storage first,
// then each process polls the rows the server saw in the last few seconds (on the server's clock, so a process
// with a skewed clock neither misses a change nor reads it late). With the embedded engine there is only ever
// one process, and nothing to poll.

/** How often the other processes' changes are read. */
const POLL_MS = 500;
/** Rows are read back this far beyond the last poll: an insert can become visible after a later one. */
const POLL_OVERLAP_MS = 3_000;
/** Past this long without a successful poll, changes may have been missed: read everything in force again. */
const POLL_GAP_MAX_MS = 10_000;

export interface ChangeSource {
  /** Reads everything in force (at start, and after a gap). */
  reload(): Promise<void>;
  /** Reads and applies what changed in the last `withinMs` on the server's clock. */
  changedWithin(withinMs: number): Promise<void>;
}

export class ChangePoller {
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | null = null;
  private lastPollAt = 0;
  private stopped = false;

  constructor(
    private readonly source: ChangeSource,
    private readonly what: string,
    private readonly log: Log,
  ) {}

  /** Reads everything in force; then, when other processes may write (`shared`), polls their changes. */
  async start(shared: boolean): Promise<void> {
    const startedAt = Date.now();
    await this.source.reload();
    this.lastPollAt = startedAt;
    if (!shared) return;
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.polling;
  }

  private poll(): Promise<void> {
    if (this.polling || this.stopped) return this.polling ?? Promise.resolve();
    const startedAt = Date.now();
    const gap = startedAt - this.lastPollAt;
    const run = async () => {
      if (gap > POLL_GAP_MAX_MS) await this.source.reload();
      else await this.source.changedWithin(gap + POLL_OVERLAP_MS);
      this.lastPollAt = startedAt;
    };
    this.polling = run()
      .catch((err: unknown) => this.log({ event: `${this.what}_poll_failed`, error: err instanceof Error ? err.message : String(err) }))
      .finally(() => (this.polling = null));
    return this.polling;
  }
}
