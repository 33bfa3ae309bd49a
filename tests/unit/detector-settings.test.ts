// The detector's settings: one typed object, defaults in one place, validated by the schema the API will
// use for PUT bodies (a bad or unknown field is named).
import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { DEFAULT_SETTINGS, detectorSettingsSchema, parseSettings, withSettings } from '../../detector/settings';

function issuePath(input: unknown): string {
  try {
    parseSettings(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ZodError);
    const issue = (err as ZodError).issues[0];
    return [...issue.path, ...('keys' in issue ? (issue.keys as string[]) : [])].join('.');
  }
  throw new Error('expected a validation error');
}

describe('detector settings', () => {
  it('defaults are the issue’s thresholds', () => {
    expect(parseSettings({})).toEqual(DEFAULT_SETTINGS);
    expect(parseSettings(undefined)).toEqual(DEFAULT_SETTINGS);
    expect(DEFAULT_SETTINGS.loop).toMatchObject({ consecutive: 3, anywhere: 5, critical: 10, sameFailure: 3 });
    expect(DEFAULT_SETTINGS.pingpong).toMatchObject({ minCycle: 2, maxCycle: 5, repeats: 3, critical: 5 });
    expect(DEFAULT_SETTINGS.fanout).toMatchObject({ minChildren: 20, childrenFactor: 2, maxDepth: 16 });
    expect(DEFAULT_SETTINGS.cost_spike).toMatchObject({ zThreshold: 3.5, minCostUsd: 0.25, ewmaLambda: 0.2, ewmaK: 3, ewmaBucketMinutes: 5 });
    expect(DEFAULT_SETTINGS.retry_storm).toMatchObject({ branchErrors: 3, retryBudget: 0.2, minRetries: 3 });
    expect(DEFAULT_SETTINGS.context_bloat).toMatchObject({ risingCalls: 5, callTokens: 100_000 });
    expect(DEFAULT_SETTINGS.stall).toMatchObject({ idleMinutes: 10, durationFactor: 3 });
    expect(DEFAULT_SETTINGS.baseline).toMatchObject({ minTrees: 20 });
  });

  it('a partial body keeps every other default', () => {
    const s = parseSettings({ loop: { consecutive: 4 }, stall: { enabled: false } });
    expect(s.loop).toEqual({ ...DEFAULT_SETTINGS.loop, consecutive: 4 });
    expect(s.stall.enabled).toBe(false);
    expect(s.fanout).toEqual(DEFAULT_SETTINGS.fanout);
    expect(withSettings(DEFAULT_SETTINGS, { cost_spike: { minCostUsd: 1 } }).cost_spike.minCostUsd).toBe(1);
  });

  it('names the field that is wrong', () => {
    expect(issuePath({ loop: { consecutive: 'three' } })).toBe('loop.consecutive');
    expect(issuePath({ loop: { consecutive: 1 } })).toBe('loop.consecutive');
    expect(issuePath({ fanout: { minChidlren: 30 } })).toBe('fanout.minChidlren');
    expect(issuePath({ loops: {} })).toBe('loops');
    expect(issuePath({ retry_storm: { retryBudget: 1.5 } })).toBe('retry_storm.retryBudget');
    expect(issuePath({ retry_storm: { errorClasses: ['teapot'] } })).toBe('retry_storm.errorClasses.0');
    expect(issuePath({ loop: { critical: 3 } })).toBe('loop.critical');
    expect(issuePath({ pingpong: { minCycle: 4, maxCycle: 3 } })).toBe('pingpong.maxCycle');
  });

  it('round-trips through JSON (what GET returns, PUT accepts)', () => {
    expect(detectorSettingsSchema.parse(JSON.parse(JSON.stringify(DEFAULT_SETTINGS)))).toEqual(DEFAULT_SETTINGS);
  });
});
