// POST /api/detector/backtest in a running Canopy on the real engine: the simulator's trees are stored and
// alerted by the live detector, then proposed settings are replayed over them. The same settings change
// nothing; turning a rule off or raising its threshold removes its trees; lowering one only adds; bad input
// is a 400 naming the field; and no backtest creates an alert.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, AlertRule } from '../lib/domain';
import type { BacktestResult } from '../detector/backtest';
import type { DetectorSettings } from '../detector/settings';
import { getJson } from './helpers/api';
import { simulateTrees, type SimulatedTree } from './helpers/sim';
import { eventually, startCanopy, type RunningCanopy } from './helpers/canopy';

const RUNAWAYS: Record<string, AlertRule> = { loop: 'loop', fanout: 'fanout' };

type TreeLine = SimulatedTree;

const simulate = simulateTrees;

async function backtest(base: string, body: unknown): Promise<{ status: number; body: BacktestResult & { error?: string } }> {
  const res = await fetch(`${base}/api/detector/backtest`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as BacktestResult & { error?: string } };
}

async function allAlerts(base: string): Promise<Alert[]> {
  const { status, body } = await getJson<{ alerts: Alert[] }>(`${base}/api/alerts?limit=500`);
  expect(status).toBe(200);
  return body.alerts;
}

describe('detector backtest in a running Canopy', () => {
  let canopy: RunningCanopy;
  let lines: TreeLine[] = [];
  let current: DetectorSettings;
  let alertIdsBefore: string[] = [];
  const since = Date.now() - 3600_000;
  const treeOf = (scenario: string) => lines.find((l) => l.scenario === scenario)!.traceId;

  beforeAll(async () => {
    canopy = await startCanopy();
    lines = await simulate(['--endpoint', canopy.otlpUrl, '--no-kill-check', '--scenario', 'normal,loop,fanout', '--once', '--fast', '--seed', '3']);
    for (const line of lines.filter((l) => RUNAWAYS[l.scenario])) {
      await eventually(async () => {
        const { body } = await getJson<{ alerts: Alert[] }>(`${canopy.url}/api/alerts?traceId=${line.traceId}`);
        return body.alerts.some((a) => a.rule === RUNAWAYS[line.scenario]) ? true : undefined;
      }, 30_000, `a ${line.scenario} alert`);
    }
    // Let the detector judge the last trees, so that what it stores no longer changes under the backtests.
    await new Promise((r) => setTimeout(r, 2_500));
    alertIdsBefore = (await allAlerts(canopy.url)).map((a) => a.id).sort();
    current = (await getJson<DetectorSettings>(`${canopy.url}/api/detector/rules`)).body;
  }, 120_000);

  afterAll(async () => {
    await canopy?.stop();
  });

  it('with the settings in force, flags the loop and fanout trees and changes nothing', async () => {
    const { status, body } = await backtest(canopy.url, { rules: current, since });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.treesJudged).toBeGreaterThanOrEqual(lines.length);
    expect(body.spansJudged).toBeGreaterThan(body.treesJudged);
    expect(body.truncated).toBe(false);
    expect(body.ms).toBeGreaterThanOrEqual(0);
    expect(Date.parse(body.since)).toBe(since);
    for (const rule of ['loop', 'fanout'] as const) {
      expect(body.rules[rule].current.trees, rule).toBeGreaterThanOrEqual(1);
      expect(body.rules[rule].current.warning + body.rules[rule].current.critical).toBe(body.rules[rule].current.trees);
    }
    for (const [rule, r] of Object.entries(body.rules)) {
      expect(r.proposed, rule).toEqual(r.current);
      expect(r.added, rule).toEqual([]);
      expect(r.removed, rule).toEqual([]);
    }
  });

  it('with the loop rule off, the loop tree is removed from loop and nothing else changes', async () => {
    const { status, body } = await backtest(canopy.url, { rules: { loop: { enabled: false } }, since });
    expect(status, JSON.stringify(body)).toBe(200);
    const loop = body.rules.loop;
    expect(loop.proposed.trees).toBe(0);
    expect(loop.removedTrees).toBe(loop.current.trees);
    const removed = loop.removed.find((e) => e.traceId === treeOf('loop'))!;
    expect(removed).toBeDefined();
    expect(removed.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(removed.title.length).toBeGreaterThan(10);
    expect(removed.rootName.length).toBeGreaterThan(0);
    expect(['warning', 'critical']).toContain(removed.severity);
    for (const [rule, r] of Object.entries(body.rules).filter(([rule]) => rule !== 'loop')) {
      expect(r.added.length + r.removed.length, rule).toBe(0);
    }
  });

  it('with a far stricter fanout width, the fanout tree is removed from fanout', async () => {
    const { status, body } = await backtest(canopy.url, { rules: { ...current, fanout: { ...current.fanout, minChildren: 10_000 } }, since });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.rules.fanout.removed.map((e) => e.traceId)).toContain(treeOf('fanout'));
    expect(body.rules.fanout.added).toEqual([]);
    expect(body.rules.fanout.proposed.trees).toBe(body.rules.fanout.current.trees - body.rules.fanout.removedTrees);
  });

  it('with a looser loop threshold, trees are only added, never ones already flagged', async () => {
    const { status, body } = await backtest(canopy.url, { rules: { ...current, loop: { ...current.loop, consecutive: 2, anywhere: 2 } }, since });
    expect(status, JSON.stringify(body)).toBe(200);
    const loop = body.rules.loop;
    expect(loop.removedTrees).toBe(0);
    expect(loop.proposed.trees).toBe(loop.current.trees + loop.addedTrees);
    expect(loop.added.length).toBe(Math.min(10, loop.addedTrees));
    // The loop tree is flagged under both settings: never "added".
    expect(loop.added.map((e) => e.traceId)).not.toContain(treeOf('loop'));
  });

  it('judges at most `limit` trees and then says it stopped early', async () => {
    const { status, body } = await backtest(canopy.url, { since, limit: 1 });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.treesJudged).toBe(1);
    expect(body.truncated).toBe(true);
  });

  it('answers 400 naming the field for bad settings and a `since` that is not a time', async () => {
    const bad = await backtest(canopy.url, { rules: { loop: { consecutive: 1 } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('loop.consecutive');
    const notTime = await backtest(canopy.url, { since: 'yesterday' });
    expect(notTime.status).toBe(400);
    expect(notTime.body.error).toMatch(/^since:/);
    const unknown = await backtest(canopy.url, { rules: {}, bogus: 1 });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toContain('bogus');
    const reversed = await backtest(canopy.url, { since: Date.now(), until: since });
    expect(reversed.status).toBe(400);
  });

  it('created no alerts', async () => {
    expect((await allAlerts(canopy.url)).map((a) => a.id).sort()).toEqual(alertIdsBefore);
  });
});
