const BUSY = Symbol.for('canopy.reads-busy');

/** Too many heavy reads are already running or waiting: answer 503 with Retry-After. */
export class ReadsBusyError extends Error {
  readonly [BUSY] = true;
  constructor(readonly retryAfterSeconds: number) {
    super('Canopy is answering too many reads at once; retry shortly');
  }

  /**
   * Next bundles route handlers with their own copy of this module while the gate itself is created by
   * server.ts, so `instanceof` cannot recognise the error across that boundary; a registered symbol can.
   */
  static is(err: unknown): err is ReadsBusyError {
    return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BUSY] === true;
  }
}

/**
 * Bounds the heavy reads (trace list, trace detail) running at once, so memory is bounded by
 * `maxRunning` × what one read may build, however many clients call: 500 concurrent list calls once
 * took the process past its heap limit. Up to `maxWaiting` more wait their turn (a UI poll burst
 * should queue, not fail); past that the caller gets ReadsBusyError at once.
 */
export class ReadGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly maxRunning: number,
    private readonly maxWaiting: number,
  ) {}

  async run<T>(read: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxRunning) {
      if (this.waiting.length >= this.maxWaiting) throw new ReadsBusyError(1 + Math.floor(Math.random() * 3));
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
    try {
      return await read();
    } finally {
      // Hand the slot straight to the next waiter (running stays the same), or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  get load() {
    return { running: this.running, waiting: this.waiting.length };
  }
}
