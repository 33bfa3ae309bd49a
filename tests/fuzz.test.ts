import { afterAll, describe, expect, it } from 'vitest';
import { runFuzz, verdicts, defaultDumpDir, type FuzzSummary } from '../scripts/fuzz/run';
import { summaryMarkdown } from '../scripts/fuzz/report';

// The short version of `npm run fuzz` (scripts/fuzz.ts, docs/FUZZ.md): generated malformed OTLP bodies,
// protobuf and JSON mutated from real SDK exports, against a real Canopy on the real engine. A failure
// prints the seed and the bodies' indices: `npm run fuzz -- --seed <seed> --only <index>` re-sends one.

const SEED = Number(process.env.CANOPY_FUZZ_SEED ?? 20261130);
const COUNT = Number(process.env.CANOPY_FUZZ_COUNT ?? 1500);
const MAX_RSS_MIB = 1024;

let summary: FuzzSummary | undefined;
afterAll(() => {
  if (!summary) return;
  const failures = verdicts(summary, MAX_RSS_MIB);
  const s = summary;
  process.stderr.write(
    failures.length
      ? `\nfuzz (seed ${SEED}) failed; bodies with a problem are in ${defaultDumpDir(SEED)}:\n${summaryMarkdown(s, `CANOPY_FUZZ_SEED=${SEED} npx vitest run tests/fuzz.test.ts`, MAX_RSS_MIB, failures)}\n`
      : `\nfuzz (seed ${SEED}): ${s.bodies} bodies in ${(s.fuzzMs / 1000).toFixed(1)} s, statuses ${JSON.stringify(s.statuses)}, max RSS ${Math.round(s.rss.maxMiB)} MiB\n`,
  );
});

describe('fuzzing the OTLP receiver', () => {
  it(`answers ${COUNT} malformed bodies with a 2xx/4xx in the request's encoding, without crashing, hanging or growing, and keeps a trace sent before them`, async () => {
    summary = await runFuzz({ seed: SEED, count: COUNT, concurrency: 16, timeoutMs: 10_000, readTraces: 60, dumpDir: defaultDumpDir(SEED) });
    const s = summary;
    expect(s.bodies).toBe(COUNT);
    expect(s.byFormat.protobuf).toBeGreaterThan(COUNT / 3);
    expect(s.byFormat.json).toBeGreaterThan(COUNT / 3);
    expect(s.crashes, 'Canopy exited during the fuzz').toBe(0);
    expect(s.hangs, 'requests with no answer within 10 s').toBe(0);
    expect(s.transportErrors, 'connections dropped without an answer').toBe(0);
    expect(s.problems, 'answers that were 5xx, the wrong status or in the wrong encoding').toEqual([]);
    expect(s.serverErrors, 'errors in the server log').toEqual([]);
    expect(s.healthAfter.status).toBe(200);
    expect(s.ingestAfter, 'a valid export after the fuzz is stored').toBe(true);
    expect(s.knownTrace.intact, `known trace before/after: ${JSON.stringify(s.knownTrace)}`).toBe(true);
    expect(s.controls.accepted).toBe(s.controls.sent);
    expect(s.rss.maxMiB).toBeLessThan(MAX_RSS_MIB);
    expect(s.exitCode, 'graceful exit on SIGTERM after the fuzz').toBe(0);
    // Backpressure should not happen at 16 requests in flight; it is allowed (with Retry-After) but counted.
    expect(s.backpressure).toBeLessThan(COUNT / 100);
    expect(verdicts(s, MAX_RSS_MIB)).toEqual([]);
  }, 120_000);
});
