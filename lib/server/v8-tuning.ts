// V8 settings of Canopy's server processes (server.ts, detector/main.ts), set before any worker thread starts:
// V8 flags are per process, so the ingest workers and the judge thread get them too.
import v8 from 'node:v8';

// Allocation-site pretenuring: V8 counts how many objects of each object literal survive a young-generation
// collection and, past a ratio, allocates that literal's objects straight in the old generation from then on.
// The detector's spans and tree nodes live while their export is prepared and judged, so in some processes the
// count crossed the ratio: every young string and number then stored into them took the write barrier's slow
// path, and judging in the ingest stream cost 1.5–3× as much for the rest of the process (2–3 processes in 10,
// measured on the bench's exports; with this off, 9 in 10 then 12 in 12 ran at the usual speed, one at 1.5×).
v8.setFlagsFromString('--no-allocation-site-pretenuring');
