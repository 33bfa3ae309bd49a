// On the embedded store the detector learns of new trees from this process's ingest as they are stored, and
// reads the activity index only to catch up: what was stored while no detector ran (CANOPY_DETECTOR=off, or
// between a stop and the next start) is judged after the start, and what arrives after it is told.

import { afterAll, describe, expect, it } from 'vitest';
import type { Alert } from '../lib/domain';
import { getJson, waitForTrace } from './helpers/api';
import { eventually, startCanopy, type RunningCanopy } from './helpers/canopy';
import { exporterFor, recordingTracer, sendOk, startSpan } from './helpers/otel';

/** A finished tree whose agent ran the same tool 4 times in a row with the same arguments: a loop. */
async function sendLoop(canopy: RunningCanopy, file: string): Promise<string> {
  const rec = recordingTracer('catch-up-agent');
  const root = startSpan(rec.tracer, 'invoke_agent Coder', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Coder' });
  for (let i = 0; i < 4; i++) {
    startSpan(rec.tracer, 'execute_tool run_tests', { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'run_tests', 'gen_ai.tool.call.arguments': JSON.stringify({ path: file }) }, root).end();
  }
  root.end();
  await sendOk(exporterFor(canopy.otlpUrl), rec.finished());
  return root.spanContext().traceId;
}

const loopAlert = (canopy: RunningCanopy, traceId: string) =>
  eventually(async () => {
    const { body } = await getJson<{ alerts: Alert[] }>(`${canopy.url}/api/alerts?traceId=${traceId}&rule=loop`);
    return body.alerts[0];
  }, 20_000, `a loop alert on ${traceId}`);

describe('the detector catching up on what was stored while it was not running', () => {
  let canopy: RunningCanopy | undefined;

  afterAll(async () => {
    await canopy?.stop();
  });

  it('judges trees stored while it was off after it starts, then those stored after, without judging the old ones again', { timeout: 120_000 }, async () => {
    canopy = await startCanopy();
    const first = await sendLoop(canopy, 'a/');
    const before = await loopAlert(canopy, first);
    expect(await canopy.stop()).toBe(0);

    // Ingest alone: stored, judged by nobody.
    canopy = await startCanopy({ dataDir: canopy.dataDir, env: { CANOPY_DETECTOR: 'off' } });
    const whileOff = await sendLoop(canopy, 'b/');
    await waitForTrace(canopy.url, whileOff, 5);
    expect((await getJson<{ alerts: Alert[] }>(`${canopy.url}/api/alerts?traceId=${whileOff}`)).body.alerts).toEqual([]);
    expect(await canopy.stop()).toBe(0);

    canopy = await startCanopy({ dataDir: canopy.dataDir });
    const caughtUp = await loopAlert(canopy, whileOff);
    expect(caughtUp.title).toBe('run_tests called 4× with identical arguments in a row under Coder');
    const after = await sendLoop(canopy, 'c/');
    expect((await loopAlert(canopy, after)).evidence.spanCount).toBe(4);
    const { body } = await getJson<{ alerts: Alert[] }>(`${canopy.url}/api/alerts?traceId=${first}`);
    expect(body.alerts.map((a) => `${a.id}/${a.severity}/${a.lastSeen}`)).toEqual([`${before.id}/${before.severity}/${before.lastSeen}`]);
  });
});
