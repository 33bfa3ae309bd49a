// The simulator's flags and its command line (dry runs: nothing is sent). Its kill checks go through the SDK,
// tested against a running Canopy in tests/sdk.test.ts and tests/kill.test.ts.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { canopyUrlFromOtlp } from '../../sdk/src/index';
import { helpText, parseDuration, parseOptions, UsageError } from '../../sim/options';
import { SCENARIO_NAMES } from '../../sim/scenarios/index';
import { tracesUrl } from '../../sim/tracer';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

function cli(args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'sim/cli.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('simulator flags', () => {
  it('has sensible defaults', () => {
    const o = parseOptions([], {});
    expect(o).toMatchObject({
      endpoint: 'http://127.0.0.1:4318',
      api: 'http://127.0.0.1:3000',
      scenarios: ['normal'],
      length: { kind: 'forever' },
      rate: 1,
      seed: null,
      fast: false,
      killCheck: true,
      baselineTrees: 25,
    });
    expect(parseOptions(['--fast'], {}).rate).toBe(10);
  });

  it('parses every flag', () => {
    const o = parseOptions(
      ['--endpoint', 'http://localhost:9999', '--api', 'http://localhost:8080', '--api-key', 'k', '--scenario', 'loop,fanout', '--scenario', 'deep',
        '--duration', '2m', '--rate', '0.5', '--seed', '42', '--service', 'svc', '--fast', '--spans', '500', '--baseline', '3', '--no-kill-check', '--dry-run'],
      {},
    );
    expect(o).toMatchObject({
      endpoint: 'http://localhost:9999',
      api: 'http://localhost:8080',
      apiKey: 'k',
      scenarios: ['loop', 'fanout', 'deep'],
      length: { kind: 'duration', ms: 120_000 },
      rate: 0.5,
      seed: 42,
      service: 'svc',
      fast: true,
      spans: 500,
      baselineTrees: 3,
      killCheck: false,
      dryRun: true,
    });
    expect(parseOptions(['--once', '--duration', '10m'], {})).toMatchObject({ length: { kind: 'once' }, durationMs: 600_000 });
    expect(parseOptions(['--trees', '7'], {}).length).toEqual({ kind: 'trees', count: 7 });
    expect(parseOptions(['--scenario', 'all'], {}).scenarios).toEqual(SCENARIO_NAMES);
    expect(parseOptions([], { CANOPY_API_KEY: 'from-env' }).apiKey).toBe('from-env');
  });

  it('rejects bad input with a message naming the flag', () => {
    const cases: [string[], RegExp][] = [
      [['--scenario', 'nope'], /unknown scenario 'nope'/],
      [['--trees', '0'], /--trees must be between/],
      [['--trees', 'x'], /--trees must be a whole number/],
      [['--trees', '3', '--duration', '1m'], /not both/],
      [['--once', '--trees', '3'], /--once and --trees/],
      [['--duration', 'soon'], /--duration must look like/],
      [['--rate', '0'], /--rate must be/],
      [['--rate', 'fast'], /--rate must be/],
      [['--seed', '-1'], /--seed/],
      [['--spans', '100001'], /--spans must be between/],
      [['--endpoint', 'localhost:4318'], /--endpoint must be/],
      [['--endpoint', 'ftp://x'], /--endpoint must be an http/],
      [['--bogus'], /bogus/],
      [['stray'], /unexpected argument/],
    ];
    for (const [args, message] of cases) {
      expect(() => parseOptions(args, {}), args.join(' ')).toThrow(UsageError);
      expect(() => parseOptions(args, {}), args.join(' ')).toThrow(message);
    }
  });

  it('reads durations and builds URLs the way OTel exporters do', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('60')).toBe(60_000);
    expect(tracesUrl('http://127.0.0.1:4318')).toBe('http://127.0.0.1:4318/v1/traces');
    expect(tracesUrl('http://127.0.0.1:4318/')).toBe('http://127.0.0.1:4318/v1/traces');
    expect(tracesUrl('http://127.0.0.1:3000/v1/traces')).toBe('http://127.0.0.1:3000/v1/traces');
    expect(canopyUrlFromOtlp('http://127.0.0.1:4318')).toBe('http://127.0.0.1:3000');
    expect(canopyUrlFromOtlp('http://127.0.0.1:3000')).toBe('http://127.0.0.1:3000');
    expect(canopyUrlFromOtlp('http://localhost:5555/otlp')).toBe('http://localhost:5555');
  });

  it('--help documents every flag and scenario', () => {
    const help = helpText();
    for (const flag of ['--endpoint', '--api', '--api-key', '--scenario', '--trees', '--duration', '--rate', '--seed', '--service', '--once', '--fast', '--spans', '--baseline', '--no-kill-check', '--dry-run', '--help']) {
      expect(help).toContain(flag);
    }
    for (const name of SCENARIO_NAMES) expect(help).toContain(name);
  });
});

describe('simulator command line', () => {
  it('prints help, exits 2 on bad flags, and prints one JSON line per tree (baselines first)', () => {
    const help = cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--scenario');

    const bad = cli(['--scenario', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown scenario 'nope'");

    const dry = cli(['--scenario', 'loop,cost_spike,huge', '--once', '--fast', '--seed', '1', '--dry-run', '--baseline', '3', '--spans', '300']);
    expect(dry.code, dry.stderr).toBe(0);
    const lines = dry.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => `${l.scenario}${l.baselineFor ? `>${l.baselineFor}` : ''}`)).toEqual([
      'loop',
      'normal>cost_spike',
      'normal>cost_spike',
      'normal>cost_spike',
      'cost_spike',
      'huge',
    ]);
    for (const line of lines) {
      expect(line.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(line.rootSpanId).toMatch(/^[0-9a-f]{16}$/);
      expect(typeof line.rootName).toBe('string');
      expect(line.expect).toBeTypeOf('object');
    }
    expect(lines[5]!.spans).toBe(300);
    // Same seed, same trees and ids (only the wall-clock start differs).
    const again = cli(['--scenario', 'loop,cost_spike,huge', '--once', '--fast', '--seed', '1', '--dry-run', '--baseline', '3', '--spans', '300']);
    const timeless = (out: string) => out.replace(/"startTime":"[^"]+"/g, '');
    expect(timeless(again.stdout)).toBe(timeless(dry.stdout));
  });

  it('fails fast with a hint when nothing listens at the endpoint', () => {
    const run = cli(['--endpoint', 'http://127.0.0.1:1', '--once', '--fast']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Is Canopy running?');
  });
});
