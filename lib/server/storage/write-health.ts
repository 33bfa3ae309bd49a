import { isDataError } from './insert-errors';

/** Whether storage can take writes now, and if not, one sentence saying why and what to do. */
export type WriteHealth = { ok: true } | { ok: false; reason: string };

// /api/health may be polled every 250 ms (the bench does); the probe runs at most this often.
const PROBE_INTERVAL_MS = 5_000;

/**
 * Keeps the health answer cheap and honest. Two signals: a write probe (cached, rerun at most every few
 * seconds, and at once after an insert fails), and the last real insert: one that failed for a reason
 * other than its own data marks storage as failing until an insert succeeds, which catches what a probe
 * cannot (a server's full disk, parts piling up), since exporters keep retrying the refused exports.
 */
export class WriteHealthMonitor {
  private probed: { at: number; result: WriteHealth } | null = null;
  private probing: Promise<WriteHealth> | null = null;
  private insertFailure: string | null = null;

  constructor(
    private readonly probe: () => Promise<WriteHealth>,
    /** Names the storage in a failed insert's reason ("the embedded ClickHouse at /data"). */
    private readonly where: string,
  ) {}

  async check(opts: { fresh?: boolean } = {}): Promise<WriteHealth> {
    const cached = this.probed && Date.now() - this.probed.at < PROBE_INTERVAL_MS ? this.probed.result : null;
    const probed = !opts.fresh && cached ? cached : await this.runProbe();
    if (!probed.ok || !this.insertFailure) return probed;
    return { ok: false, reason: this.insertFailure };
  }

  insertSucceeded(): void {
    this.insertFailure = null;
    // A stored insert outranks an older failed probe: probe again rather than report it for seconds more.
    if (this.probed && !this.probed.result.ok) this.probed = null;
  }

  insertFailed(err: unknown): void {
    // Rows the engine refuses as invalid data blame that payload, not storage: the next insert may well work.
    if (isDataError(err)) return;
    const message = err instanceof Error ? err.message : String(err);
    this.insertFailure =
      `Inserts into ${this.where} are failing (${message.split('\n')[0].slice(0, 300)}); ` +
      `exports are answered 503 and retried until storage accepts writes again.`;
    this.probed = null; // the next health check probes again rather than trusting an older success
  }

  private runProbe(): Promise<WriteHealth> {
    // One probe at a time however many health checks arrive together.
    this.probing ??= this.probe()
      .catch((err: unknown): WriteHealth => ({ ok: false, reason: err instanceof Error ? err.message : String(err) }))
      .then((result) => {
        this.probed = { at: Date.now(), result };
        return result;
      })
      .finally(() => (this.probing = null));
    return this.probing;
  }
}
