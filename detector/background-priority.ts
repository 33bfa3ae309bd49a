import fs from 'node:fs';
import os from 'node:os';

// The judge thread runs at a lower scheduling priority than the rest of Canopy. On a busy machine every thread
// competes for the cores: at full ingest on 2 cores, the detector's work delayed the event loop that answers
// exports, the API and the control API (lag p99 59 → 83 ms in one bench run). At nice 10 the kernel gives the
// thread its share only when ingest and the API leave room: detection falls behind under a flood (its backlog
// is measured by `npm run bench`) rather than slowing what agents and users wait on. Linux only, where a
// thread is a task with its own nice value; elsewhere, and without permission, nothing changes.
const BACKGROUND_NICE = 10;

export function runThisThreadInBackground(): void {
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isSafeInteger(tid) && tid > 0 && tid !== process.pid) os.setPriority(tid, BACKGROUND_NICE);
  } catch {
    // not Linux, or not allowed: the thread keeps the process's priority
  }
}
