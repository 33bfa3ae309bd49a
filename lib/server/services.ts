// The process's lifecycle: the parts of Canopy that run (storage, ingest, the HTTP servers, and next the
// detector and the kill hub) are services started in order and stopped in reverse order, so each one can rely
// on those before it for as long as it runs. Adding one is one line in server.ts's list.

export type Log = (event: Record<string, unknown>) => void;

export interface Service {
  /** Named in the log when it fails to stop. */
  readonly name: string;
  start(): Promise<void> | void;
  /** Stops taking work, finishes what it accepted and releases what it holds. */
  stop?(): Promise<void> | void;
}

/** A start that failed for a reason the user can fix, said in one sentence (no stack). */
export class StartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartError';
  }
}

export interface RunningServices {
  /** Stops the started services, last first; false when any of them failed to stop. */
  stop(): Promise<boolean>;
}

/** Starts each service in order. If one fails, those already started are stopped (last first) and the error rethrown. */
export async function startServices(services: readonly Service[], log: Log): Promise<RunningServices> {
  const started: Service[] = [];
  for (const service of services) {
    try {
      await service.start();
    } catch (err) {
      await stopServices(started, log);
      throw err;
    }
    started.push(service);
  }
  return { stop: () => stopServices(started, log) };
}

async function stopServices(started: readonly Service[], log: Log): Promise<boolean> {
  let clean = true;
  for (const service of [...started].reverse()) {
    try {
      await service.stop?.();
    } catch (err) {
      // The others still stop: storage still closes when the writer could not flush.
      clean = false;
      log({ event: 'stop_failed', service: service.name, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return clean;
}

/**
 * SIGTERM and SIGINT stop the services and end the process: 0 once all stopped cleanly, 1 if one failed or
 * the whole stop took longer than `deadlineMs` (a supervisor's kill should never be what ends Canopy).
 */
export function stopOnSignals(running: RunningServices, log: Log, deadlineMs: number, onSignal?: () => void): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log({ event: 'shutting_down', signal });
    onSignal?.();
    const deadline = setTimeout(() => {
      log({ event: 'shutdown_timeout' });
      process.exit(1);
    }, deadlineMs);
    deadline.unref();
    const clean = await running.stop();
    log({ event: 'stopped' });
    process.exit(clean ? 0 : 1);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/**
 * A service whose start yields what the services after it use (a pool, a store, the servers): `value` is
 * there once it started. Reading it earlier is a mistake in the list's order, and says so.
 */
export function service<T>(name: string, start: () => Promise<T> | T, stop?: (value: T) => Promise<void> | void): Service & { readonly value: T } {
  let started: { value: T } | undefined;
  return {
    name,
    get value(): T {
      if (!started) throw new Error(`The ${name} service is used before it started: list it earlier`);
      return started.value;
    },
    async start() {
      started = { value: await start() };
    },
    async stop() {
      if (started && stop) await stop(started.value);
    },
  };
}
