// `npm run fuzz`: throws generated malformed OTLP bodies (protobuf and JSON, mutated from exports the real
// OTel SDK and serialisers produced) at a running Canopy and checks that it neither crashes nor hangs, answers
// every body with a 2xx/4xx in the request's encoding, stays within its memory bound and keeps a trace sent
// before the fuzz intact. Prints a summary table and writes it into docs/FUZZ.md. See docs/FUZZ.md.
//
//   npm run fuzz                            10,000 bodies, a random seed (printed), writes docs/FUZZ.md
//   npm run fuzz -- --seed 7 --count 2000   reproducible; fewer than 10,000 bodies only prints
//   npm run fuzz -- --seed 7 --only 123,456 re-sends just those bodies (a finding), prints only
//   npm run fuzz -- --seed 7 --print 123    prints body 123 and its headers, without a server
//
// Other flags: --concurrency N (16), --timeout-ms N (15000), --max-rss-mb N (1024), --dump DIR (bodies with
// a problem and their headers; default $TMPDIR/canopy-fuzz-<seed>), --write / --no-write,
// --auth (Canopy with an API key; ~5% of bodies carry none or a wrong one and must get 401), --flood (also
// ~0.5% valid exports of 1–15 MiB with up to ~220,000 spans: a memory stress), --canopy-env KEY=VALUE
// (repeatable). Give --auth / --flood again to reproduce a body from such a run.
import fs from 'node:fs';
import path from 'node:path';
import { ensureBuild } from '../lib/server/build';
import { buildCorpus } from './fuzz/corpus';
import { makeBody } from './fuzz/bodies';
import { defaultDumpDir, runFuzz, verdicts, curlFor } from './fuzz/run';
import { replaceLastRun, summaryMarkdown } from './fuzz/report';

const ROOT = path.resolve(import.meta.dirname, '..');
const DOC = path.join(ROOT, 'docs', 'FUZZ.md');
const argv = process.argv.slice(2);

function flag(name: string): string | undefined {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const a = argv[i];
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
}
function all(name: string): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    if (a === `--${name}`) out.push(argv[i + 1]);
    else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  });
  return out;
}
function int(name: string, fallback: number): number {
  const v = flag(name);
  if (v === undefined) return fallback;
  const x = Number(v);
  if (!Number.isInteger(x) || x < 0) {
    process.stderr.write(`fuzz: --${name} must be a non-negative integer, got ${JSON.stringify(v)}\n`);
    process.exit(2);
  }
  return x;
}

if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(fs.readFileSync(import.meta.filename, 'utf8').split('\nimport ')[0].replace(/^\/\/ ?/gm, '') + '\n');
  process.exit(0);
}

const seed = int('seed', (Date.now() ^ (process.pid << 16)) >>> 0) >>> 0;
const count = int('count', 10_000);
const concurrency = Math.max(1, int('concurrency', 16));
const timeoutMs = int('timeout-ms', 15_000);
const maxRssMiB = int('max-rss-mb', 1024);
const only = flag('only')?.split(',').map(Number).filter((x) => Number.isInteger(x) && x >= 0);
const env = Object.fromEntries(all('canopy-env').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const apiKey = argv.includes('--auth') ? 'fuzz-key-1' : undefined;
const flood = argv.includes('--flood');
const write = argv.includes('--write') || (!argv.includes('--no-write') && !only && count >= 10_000 && Object.keys(env).length === 0 && !apiKey && !flood);
const dumpDir = flag('dump') ?? defaultDumpDir(seed);
const log = (line: string) => process.stderr.write(`[fuzz ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

const print = flag('print');
if (print !== undefined) {
  const b = makeBody(Number(print), { seed, corpus: buildCorpus(seed), maxBodyBytes: Number(env.CANOPY_MAX_BODY_BYTES ?? 16 * 1024 * 1024), apiKey, flood });
  const file = path.join(dumpDir, `body-${b.index}.bin`);
  fs.mkdirSync(dumpDir, { recursive: true });
  fs.writeFileSync(file, b.body);
  const { body, chunks, ...meta } = b;
  process.stdout.write(JSON.stringify({ ...meta, bytes: body.length, chunks: chunks?.map((c) => c.length), file, curl: curlFor(b, file, b.port === 'main' ? 3000 : 4318) }, null, 2) + '\n');
  const head = body.subarray(0, 512);
  process.stdout.write(`first ${head.length} bytes (hex): ${head.toString('hex')}\n`);
  if (b.format === 'json') process.stdout.write(`as text: ${head.toString('utf8')}\n`);
  process.exit(0);
}

const command = `npm run fuzz -- --seed ${seed} --count ${count}${concurrency !== 16 ? ` --concurrency ${concurrency}` : ''}${apiKey ? ' --auth' : ''}${flood ? ' --flood' : ''}`;
log(`seed ${seed} (rerun with ${command})`);
ensureBuild(ROOT, (e) => log(String(e.message ?? JSON.stringify(e))));
const summary = await runFuzz({ seed, count, concurrency, timeoutMs, only, env, apiKey, flood, dumpDir, log });
const failures = verdicts(summary, maxRssMiB);
const table = summaryMarkdown(summary, command, maxRssMiB, failures);
process.stdout.write(`\n${table}\n\n`);
if (summary.problemCount) log(`bodies with a problem are in ${dumpDir} (body-<index>.bin and .json with the headers and a curl line)`);
if (write) {
  const doc = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : '# Fuzzing the OTLP receiver\n';
  fs.writeFileSync(DOC, replaceLastRun(doc, table));
  log(`wrote the summary into ${path.relative(ROOT, DOC)}`);
}
log(failures.length ? `FAIL:\n  - ${failures.join('\n  - ')}` : 'PASS');
process.exit(failures.length ? 1 : 0);
