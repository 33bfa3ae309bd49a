import fs from 'node:fs';
import os from 'node:os';

// The detector's worker thread runs at a lower scheduling priority than the rest of Canopy. On a busy machine every thread
// competes for the cores, and the main thread is the one agents and users wait on: it answers exports once
// stored, the API, and the control API. At full ingest on 2 cores the detector's work delayed it (event-loop
// lag p99 59 → 83 ms in one bench run). Linux only, where a thread is a task with its own nice value;
// elsewhere, and without permission, nothing changes.

/** The detector's judge thread: it gets its share only when ingest and the API leave room, and falls behind under a flood. */
export const DETECTOR_NICE = 10;

export function lowerThisThreadPriority(nice: number): void {
  if (!(nice > 0)) return;
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isSafeInteger(tid) && tid > 0 && tid !== process.pid) os.setPriority(tid, nice);
  } catch {
    // not Linux, or not allowed: the thread keeps the process's priority
  }
}
