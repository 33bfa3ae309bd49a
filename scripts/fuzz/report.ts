// The fuzz summary as a markdown table (printed, and written into docs/FUZZ.md between markers).
import os from 'node:os';
import type { FuzzSummary } from './run';

const n = (x: number) => x.toLocaleString('en-US');
const mib = (x: number) => `${Math.round(x).toLocaleString('en-US')} MiB`;
const hist = (h: Record<string, number>) =>
  Object.entries(h)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${n(v)}`)
    .join(', ') || '—';

export function summaryMarkdown(s: FuzzSummary, command: string, maxRssMiB: number, failures: string[]): string {
  const cpu = os.cpus();
  const lines = [
    `- Run: ${s.startedAt} · \`${command}\` · seed **${s.seed}** · ${(s.durationMs / 1000).toFixed(1)} s total (${(s.fuzzMs / 1000).toFixed(1)} s sending, ${n(Math.round((s.bodies / Math.max(1, s.fuzzMs)) * 1000))} bodies/s)`,
    `- Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}; fuzzer and Canopy on the same cores; ${s.concurrency} requests in flight, ${n(s.timeoutMs)} ms timeout each`,
    ...(s.flood ? ['- With `--flood`: ~0.5% of bodies are valid exports of 1–15 MiB (up to ~220,000 spans each), a memory stress'] : []),
    ...(s.apiKey ? [`- With API keys (\`CANOPY_API_KEYS\`): ~5% of bodies carry no key or a wrong one and must get 401 in the request's encoding`] : []),
    `- Result: **${failures.length ? `FAIL: ${failures.join('; ')}` : 'PASS'}**`,
    '',
    '| measure | value |',
    '|---|---|',
    `| bodies sent | ${n(s.bodies)} (${(s.bytesSent / 2 ** 20).toFixed(1)} MiB, largest ${(s.largestBody / 2 ** 20).toFixed(2)} MiB) |`,
    `| by format | ${hist(s.byFormat)} |`,
    `| by compression | ${hist(s.byEncoding)} |`,
    `| statuses | ${hist(s.statuses)} |`,
    `| statuses, protobuf bodies | ${hist(s.statusesByFormat.protobuf ?? {})} |`,
    `| statuses, JSON bodies | ${hist(s.statusesByFormat.json ?? {})} |`,
    `| 200 with partial success | ${n(s.acceptedWithRejections)} requests, ${n(s.rejectedSpans)} spans rejected |`,
    `| valid exports mixed in (controls) | ${n(s.controls.accepted)} of ${n(s.controls.sent)} accepted${s.controls.deferred ? `, ${n(s.controls.deferred)} deferred (429/503 + Retry-After)` : ''} |`,
    `| 5xx other than backpressure | ${n(s.statuses ? Object.entries(s.statuses).filter(([k]) => /^5/.test(k) && k !== '503').reduce((a, [, v]) => a + v, 0) : 0)} |`,
    `| 429/503 with Retry-After (backpressure) | ${n(s.backpressure)} |`,
    `| answers in the wrong encoding / undecodable | ${n(s.wrongEncoding)} |`,
    `| wrong status for the body (e.g. a bomb not 413) | ${n(s.badStatus)} |`,
    `| crashes (Canopy exited) | ${n(s.crashes)} |`,
    `| hangs (no answer within ${n(s.timeoutMs)} ms) | ${n(s.hangs)} |`,
    `| connections dropped without an answer | ${n(s.transportErrors)} |`,
    `| errors in the server log | ${n(s.serverErrors.length)} |`,
    `| latency per answer | p50 ${n(s.latencyMs.p50)} ms, p99 ${n(s.latencyMs.p99)} ms, max ${n(s.latencyMs.max)} ms |`,
    `| RSS of the Canopy process (VmRSS every 100 ms) | start ${mib(s.rss.startMiB)}, **max ${mib(s.rss.maxMiB)}**, end ${mib(s.rss.endMiB)}; VmHWM ${mib(s.rss.hwmMiB)} (bound ${mib(maxRssMiB)}) |`,
    `| \`GET /api/health\` after | ${s.healthAfter.status} in ${n(s.healthAfter.ms)} ms |`,
    `| valid exports after (protobuf + JSON) | ${s.ingestAfter ? 'stored' : 'NOT stored'} |`,
    `| known trace (sent first) | ${s.knownTrace.spans} spans, ${n(s.knownTrace.inputTokens)}/${n(s.knownTrace.outputTokens)} tokens before; after: ${s.knownTrace.after ? `${s.knownTrace.after.spans} spans, ${n(s.knownTrace.after.inputTokens)}/${n(s.knownTrace.after.outputTokens)} tokens` : 'missing'} → ${s.knownTrace.intact ? 'intact' : 'CHANGED'} |`,
    `| reads of the fuzzed data (every list page, then trace details) | ${n(s.readsAfter.requests - s.readsAfter.failures.length)} of ${n(s.readsAfter.requests)} answered with JSON (${n(s.readsAfter.traces)} traces stored) |`,
    `| SIGTERM after the fuzz | exit ${s.exitCode} |`,
  ];
  const fam = Object.entries(s.byFamily).sort(([, a], [, b]) => total(b) - total(a));
  lines.push('', 'By mutation family (first mutation of each body):', '', '| family | bodies | statuses |', '|---|---|---|');
  for (const [k, h] of fam) lines.push(`| ${k} | ${n(total(h))} | ${hist(h)} |`);
  if (s.problems.length) {
    lines.push('', `Problems (${n(s.problemCount)}; first ${s.problems.length}; reproduce one with \`npm run fuzz -- --seed ${s.seed} --only <index>\`):`, '');
    for (const p of s.problems.slice(0, 20)) lines.push(`- #${p.index} ${p.format} ${p.contentType ?? '(no content-type)'} ${p.contentEncoding ?? ''} [${p.mutations.join(', ')}] ${p.bytes} B → ${p.status}: ${p.problem.slice(0, 300)}`);
  }
  if (s.readsAfter.failures.length) {
    lines.push('', 'Reads that failed after the fuzz:', '');
    for (const f of s.readsAfter.failures.slice(0, 10)) lines.push(`- ${f.slice(0, 400)}`);
  }
  if (s.serverErrors.length) {
    lines.push('', `Server log errors (${s.serverErrors.length}; first 5):`, '', '```');
    for (const e of s.serverErrors.slice(0, 5)) lines.push(e.slice(0, 600));
    lines.push('```');
  }
  if (Object.keys(s.notes).length) {
    lines.push('', 'Notes (not failures):', '');
    for (const [k, v] of Object.entries(s.notes)) lines.push(`- ${n(v)} × ${k}`);
  }
  return lines.join('\n');
}

function total(h: Record<string, number>): number {
  return Object.values(h).reduce((a, b) => a + b, 0);
}

export const START = '<!-- fuzz:last-run:start (written by `npm run fuzz`) -->';
export const END = '<!-- fuzz:last-run:end -->';

/** Replaces the last-run section of docs/FUZZ.md, keeping everything around it. */
export function replaceLastRun(doc: string, section: string): string {
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) return `${doc.trimEnd()}\n\n## Last run\n\n${START}\n${section}\n${END}\n`;
  return `${doc.slice(0, a + START.length)}\n${section}\n${doc.slice(b)}`;
}
