// `npm run simulate`: the workload simulator's command line. See --help or docs/SIMULATOR.md.

import { helpText, parseOptions, UsageError, type SimOptions } from './options';
import { checkReachable } from './preflight';
import { simulate } from './simulate';
import { tracesUrl } from './tracer';
import { runMain, stderrLogger } from './run-main';

const log = stderrLogger('canopy-sim');

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText());
    return 0;
  }
  let options: SimOptions;
  try {
    options = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    log(`${err.message}\nRun 'npm run simulate -- --help' for usage.`);
    return 2;
  }

  if (!options.dryRun) {
    const problem = await checkReachable(options.endpoint);
    if (problem) {
      log(`cannot reach the OTLP endpoint ${options.endpoint} (${problem}). Is Canopy running? Start it with 'npm start', or pass --endpoint.`);
      return 1;
    }
  }

  const controller = new AbortController();
  const stop = (): void => {
    if (controller.signal.aborted) process.exit(130);
    log('stopping: ending open spans and flushing (Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const target = options.dryRun ? 'nowhere (dry run)' : tracesUrl(options.endpoint);
  if (options.length.kind === 'forever') log(`sending ${options.scenarios.join(',')} trees to ${target} until Ctrl-C`);
  const started = Date.now();
  const summary = await simulate(options, {
    signal: controller.signal,
    out: (line) => process.stdout.write(`${JSON.stringify(line)}\n`),
    log,
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  log(`sent ${summary.trees} trees (${summary.spans} spans) to ${target} in ${seconds}s` +
    (summary.killedTrees ? `, ${summary.killedTrees} stopped by a kill` : ''));
  if (summary.failedTrees > 0) {
    log(`${summary.failedTrees} trees could not be delivered to ${target}: ${summary.tracing?.stats.lastError ?? ''}`);
    return 1;
  }
  if (summary.interrupted) return options.length.kind === 'forever' ? 0 : 130;
  return 0;
}

runMain(() => main(process.argv.slice(2)), log);
