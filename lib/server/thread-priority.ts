import fs from 'node:fs';
import os from 'node:os';

// Canopy's bulk work runs at a lower scheduling priority than its main thread. On a busy machine every thread
// competes for the cores, and the main thread is the one agents and users wait on: it answers exports once
// stored, the API, and the control API (on every running agent's hot path). Ingest at full speed keeps both
// cores busy with decoding (the prepare threads) and the embedded engine's inserts and merges; at equal
// priority a control call then waited for the scheduler behind them (p99 78–115 ms at full ingest, against
// 17–37 ms for a bare server in its own process). A lower priority costs bulk work nothing while a core is
// free and only yields it to the main thread when both are taken. Linux only, where a thread is a task with
// its own nice value; elsewhere, and without permission, nothing changes.

/**
 * The detector's judge thread: it gets its share only when ingest and the API leave room, and falls behind under
 * a flood. Its weight to ingest's stays what it was when ingest ran at nice 0 and the judge at 10 (~1 : 9); at
 * nice 10 beside ingest at 5 (1 : 3) it took its share during a flood instead of after it, +15% server CPU per span.
 */
export const DETECTOR_NICE = 15;
/** Ingest's bulk work: the prepare threads and the embedded engine's threads. */
export const INGEST_NICE = 5;

export function lowerThisThreadPriority(nice: number): void {
  if (!(nice > 0)) return;
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isSafeInteger(tid) && tid > 0 && tid !== process.pid) os.setPriority(tid, nice);
  } catch {
    // not Linux, or not allowed: the thread keeps the process's priority
  }
}

/**
 * The embedded engine's threads at `nice` (never raising one): the threads of this process that the engine
 * named (Node names all of its own "node"). Threads the engine gave a higher priority on purpose (a negative
 * nice) keep it. Returns how many changed.
 */
export function lowerEngineThreads(nice: number): number {
  let changed = 0;
  let tasks: string[];
  try {
    tasks = fs.readdirSync('/proc/self/task');
  } catch {
    return 0; // not Linux
  }
  for (const task of tasks) {
    const tid = Number(task);
    if (tid === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim() === 'node') continue;
      const now = os.getPriority(tid);
      if (now >= 0 && now < nice) (os.setPriority(tid, nice), changed++);
    } catch {
      // the thread ended meanwhile, or not allowed
    }
  }
  return changed;
}

/**
 * Keeps the engine's threads lowered: it starts threads as it needs them, and one started from the main thread
 * inherits its priority, so they are looked at again every `everyMs`. Returns the stop function.
 */
export function keepEngineThreadsLowered(nice: number, everyMs = 2_000): () => void {
  lowerEngineThreads(nice);
  const timer = setInterval(() => lowerEngineThreads(nice), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
