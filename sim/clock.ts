// Real time plays a tree as it would happen; --fast plays it at once but stamps every span with the time
// it would have had, so durations and gaps stay plausible while the run finishes in seconds.

import { setTimeout as sleep } from 'node:timers/promises';

export interface Clock {
  readonly fast: boolean;
  /** Epoch ms at which a tree of this planned duration starts. */
  anchor(durationMs: number): number;
  /**
   * Waits until epoch ms `at`. Long real waits are cut into slices of at most `sliceMs`, calling `tick`
   * between slices; the wait ends early when `tick` answers true (the tree was killed or stopped).
   */
  waitUntil(at: number, tick?: () => Promise<boolean>): Promise<void>;
  /** Epoch ms to stamp on something unplanned (a kill) that happens while the tree is at epoch `planned`. */
  now(planned: number): number;
}

export class RealClock implements Clock {
  readonly fast = false;

  constructor(private readonly sliceMs = 1_000) {}

  anchor(): number {
    return Date.now();
  }

  async waitUntil(at: number, tick?: () => Promise<boolean>): Promise<void> {
    for (;;) {
      const remaining = at - Date.now();
      if (remaining <= 0) return;
      await sleep(Math.min(remaining, this.sliceMs));
      if (tick && (await tick())) return;
    }
  }

  now(): number {
    return Date.now();
  }
}

export class FastClock implements Clock {
  readonly fast = true;
  private calls = 0;

  anchor(durationMs: number): number {
    // The tree ends about now: spans are never stamped in the future, which Canopy would rightly distrust.
    return Date.now() - durationMs - 1;
  }

  async waitUntil(): Promise<void> {
    // Yield now and then so exporters, timers and other trees get a turn.
    if (++this.calls % 256 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  now(planned: number): number {
    return planned;
  }
}
