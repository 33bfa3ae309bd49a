import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { startCanopy, type RunningCanopy } from './helpers/canopy';
import { findTrace, waitForTrace } from './helpers/api';

// The promise to users: set OTEL_EXPORTER_OTLP_ENDPOINT, change nothing else.

let canopy: RunningCanopy;
beforeAll(async () => {
  canopy = await startCanopy();
});
afterAll(async () => {
  await canopy?.stop();
});

describe('an app instrumented with the stock OTel Node SDK', () => {
  it('shows its tree, tokens and cost with only OTEL_EXPORTER_OTLP_ENDPOINT set', async () => {
    const env = { PATH: process.env.PATH ?? '', NODE_ENV: 'production' as const, OTEL_EXPORTER_OTLP_ENDPOINT: canopy.otlpUrl, OTEL_SERVICE_NAME: 'support-bot' };
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(import.meta.dirname, 'fixtures', 'instrumented-app.mjs')], { env, cwd: path.resolve(import.meta.dirname, '..') });
    const { traceId } = JSON.parse(stdout.trim().split('\n').pop()!);
    const detail = await waitForTrace(canopy.url, traceId, 5);
    expect(detail.trace).toMatchObject({ serviceName: 'support-bot', rootName: 'invoke_agent Support', spanCount: 5, inputTokens: 4000, outputTokens: 600, maxDepth: 3, unpricedSpans: 0 });
    expect(detail.trace.costUsd).toBeGreaterThan(0);
    expect(await findTrace(canopy.url, traceId)).toMatchObject({ spanCount: 5, inputTokens: 4000 });
  });
});
