// Several ingest processes, one detector: two Canopy processes with CANOPY_DETECTOR=off on one ClickHouse
// server and `npm run detector` beside them. A tree whose spans arrive through both processes is judged once,
// as one tree, and its alert is readable through either process's API.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../lib/domain';
import { getJson } from './helpers/api';
import { eventually, startCanopy, type RunningCanopy } from './helpers/canopy';
import { startClickHouseHttp, type ClickHouseHttp } from './helpers/clickhouse-http';
import { exporterFor, recordingTracer, sendOk, startSpan } from './helpers/otel';

const ROOT = path.resolve(import.meta.dirname, '..');

function runDetector(env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'detector/main.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => output, exited };
}

describe('npm run detector beside ingest-only Canopy processes', () => {
  let ch: ClickHouseHttp;
  let a: RunningCanopy;
  let b: RunningCanopy;
  let detector: ReturnType<typeof runDetector>;

  beforeAll(async () => {
    ch = await startClickHouseHttp({ user: 'canopy', password: 'pw' });
    const env = { CLICKHOUSE_URL: ch.url, CLICKHOUSE_USER: 'canopy', CLICKHOUSE_PASSWORD: 'pw', CANOPY_DETECTOR: 'off' };
    a = await startCanopy({ env });
    b = await startCanopy({ env });
    detector = runDetector({ CLICKHOUSE_URL: ch.url, CLICKHOUSE_USER: 'canopy', CLICKHOUSE_PASSWORD: 'pw' });
    await eventually(async () => (detector.output().includes('detector_started') ? true : undefined), 30_000, `the detector to start:\n${detector.output()}`);
  }, 120_000);

  afterAll(async () => {
    detector?.child.kill('SIGTERM');
    await detector?.exited;
    await a?.stop();
    await b?.stop();
    await ch?.close();
  });

  it('judges a tree exported through two processes as one tree, and either API shows its alert', async () => {
    const rec = recordingTracer('split-agent');
    const root = startSpan(rec.tracer, 'invoke_agent Coder', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Coder' });
    const traceId = root.spanContext().traceId;
    const toA = exporterFor(a.otlpUrl);
    const toB = exporterFor(b.otlpUrl, 'json');
    for (let i = 0; i < 4; i++) {
      startSpan(rec.tracer, 'execute_tool run_tests', { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'run_tests', 'gen_ai.tool.call.arguments': '{"path":"src/"}' }, root).end();
      await sendOk(i % 2 ? toB : toA, rec.finished());
      rec.reset();
    }
    const alert = await eventually(async () => {
      const { body } = await getJson<{ alerts: Alert[] }>(`${a.url}/api/alerts?traceId=${traceId}`);
      return body.alerts.find((x) => x.rule === 'loop');
    }, 20_000, `a loop alert from the detector process:\n${detector.output()}`);
    expect(alert.evidence.spanCount).toBe(4);
    const { body: viaB } = await getJson<{ alerts: Alert[] }>(`${b.url}/api/alerts?traceId=${traceId}`);
    expect(viaB.alerts.map((x) => x.id)).toContain(alert.id);
  });

  it('refuses to run alone on the embedded engine, in one sentence', async () => {
    const alone = runDetector({ CANOPY_DATA_DIR: path.join(ROOT, 'data-never-created') });
    expect(await alone.exited).toBe(1);
    expect(alone.output()).toContain('CLICKHOUSE_URL');
    expect(alone.output()).not.toMatch(/^\s+at /m);
  });
});
