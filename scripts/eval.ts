// npm run eval: the detector's offline evaluation. Plans the simulator's scenarios for many seeds in-process
// (nothing is sent: each plan goes through the real ingest normaliser to the rows storage would hold), runs
// every rule, prints the confusion table (scenario × rule) with precision and recall per rule, and writes it
// into docs/DETECTION.md between the eval markers.
//
//   npm run eval                       # default: 5 seeds, 1,200 normal trees, 100 per runaway scenario
//   npm run eval -- --seeds 1-3 --normal 100 --runaways 5 --huge 1 --no-write
//   npm run eval -- --live [--seeds=N] [--no-write]   # the same judged end to end by a fresh running Canopy (scripts/eval/live.ts)
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_EVAL, formatExamples, formatMargins, formatResult, runEvaluation, type EvalOptions } from '../detector/testing/evaluate';

const DOC = path.join(import.meta.dirname, '..', 'docs', 'DETECTION.md');
const START = '<!-- eval:start -->';
const END = '<!-- eval:end -->';

function parseArgs(argv: string[]): { opts: EvalOptions; write: boolean } {
  const opts: EvalOptions = { ...DEFAULT_EVAL };
  let write = true;
  const int = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a whole number, got ${v ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seeds') {
      const v = argv[++i] ?? '';
      const m = /^(\d+)-(\d+)$/.exec(v);
      opts.seeds = m ? Array.from({ length: Number(m[2]) - Number(m[1]) + 1 }, (_, k) => Number(m[1]) + k) : v.split(',').map((s) => int('--seeds', s));
      if (opts.seeds.length === 0) throw new Error('--seeds needs at least one seed');
    } else if (a === '--normal') opts.normalPerSeed = int(a, argv[++i]);
    else if (a === '--history') opts.historyPerSeed = int(a, argv[++i]);
    else if (a === '--runaways') opts.runawaysPerSeed = int(a, argv[++i]);
    else if (a === '--huge') opts.hugePerSeed = int(a, argv[++i]);
    else if (a === '--no-live') opts.liveAt = [];
    else if (a === '--no-write') write = false;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'npm run eval -- [--seeds 1-5|1,2,3] [--normal N] [--history N] [--runaways N] [--huge N] [--no-live] [--no-write]\n' +
          'npm run eval -- --live [--seeds=N] [--no-write]   (against a fresh running Canopy; --live --help for its flags)\n' +
          'Plans the simulator scenarios in-process, runs every detector rule, prints the confusion table and\n' +
          'writes it into docs/DETECTION.md (unless --no-write).\n',
      );
      process.exit(0);
    } else throw new Error(`unknown flag ${a} (see --help)`);
  }
  return { opts, write };
}

function main(): void {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const { opts, write } = parsed;
  const result = runEvaluation({ ...opts, log: (line) => process.stderr.write(`${line}\n`) });
  const table = formatResult(result, opts);
  const margins = formatMargins(result);
  process.stdout.write(`${table}\n\nHow close normal traffic came to each threshold:\n\n${margins}\n\nExamples (the first title per scenario and rule):\n${formatExamples(result)}\n`);

  if (write) {
    const doc = fs.readFileSync(DOC, 'utf8');
    const a = doc.indexOf(START);
    const b = doc.indexOf(END);
    if (a < 0 || b < a) throw new Error(`${DOC} has no ${START} … ${END} section`);
    const body =
      `${START}\n${table}\n\nHow close the normal trees came to each default (largest value on any normal tree, finished or live):\n\n${margins}\n\n` +
      `Example titles (the first per scenario and rule):\n\n${formatExamples(result)}\n${END}`;
    fs.writeFileSync(DOC, doc.slice(0, a) + body + doc.slice(b + END.length));
    process.stderr.write(`wrote the table into ${path.relative(process.cwd(), DOC)}\n`);
  }
  // Quality bar: no alert on healthy traffic, every runaway caught by its rule.
  const normal = result.rows.find((r) => r.expectation.row === 'normal');
  const missed = result.rows.filter((r) => r.expectation.right.length > 0 && r.caught < r.trees);
  const silentFail = result.rows.filter((r) => r.expectation.right.length === 0 && !r.expectation.coldStart && r.anyAlert > 0);
  if (silentFail.length > 0 || missed.length > 0) {
    for (const r of silentFail) process.stderr.write(`FAIL: ${r.anyAlert} of ${r.trees} ${r.expectation.row} trees alerted\n`);
    for (const r of missed) process.stderr.write(`FAIL: ${r.trees - r.caught} of ${r.trees} ${r.expectation.row} trees not caught by ${r.expectation.right.join('/')}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`quality bar met: 0 alerts on ${normal?.trees ?? 0} normal trees, every runaway caught by its rule\n`);
  }
}

// --live is its own mode with its own flags; the offline mode and its output stay as they were.
const argv = process.argv.slice(2);
if (argv.includes('--live')) await (await import('./eval/live')).mainLive(argv);
else main();
