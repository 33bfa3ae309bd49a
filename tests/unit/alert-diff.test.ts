// How one evaluation of a tree becomes alert rows: one per (tree, rule, branch), updated in place, escalated
// but never de-escalated, resolved when no longer found, and delivered only when new or escalated past what
// was delivered.
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../lib/domain';
import { diffAlerts } from '../../detector/alert-diff';
import type { StoredAlert } from '../../lib/server/queries/alerts';

const TRACE = 'a'.repeat(32);
let version = 0;
const ctx = (nowMs = 1_000_000) => ({ traceId: TRACE, nowMs, version: () => ++version, id: (_t: string, rule: string, branch: string) => `${rule}:${branch}` });

function finding(severity: 'warning' | 'critical', value: number, over: Partial<Finding> = {}, tree = false): Finding {
  return {
    rule: 'loop',
    severity,
    spanId: '1111111111111111',
    title: `run_tests called ${value}×`,
    evidence: { spanIds: [], spanCount: value, metric: 'identical calls', value, warningAt: 3, criticalAt: 10, names: ['run_tests'], baseline: null, details: tree ? { scope: 'tree' } : {} },
    ...over,
  };
}

/** What storage holds after writing a diff's rows over `stored`. */
function apply(stored: StoredAlert[], writes: StoredAlert[]): StoredAlert[] {
  const byId = new Map(stored.map((a) => [a.id, a]));
  for (const w of writes) byId.set(w.id, w);
  return [...byId.values()];
}

describe('diffAlerts', () => {
  it('raises a new alert once, then writes nothing while the evidence is unchanged', () => {
    const first = diffAlerts([finding('warning', 3)], [], ctx());
    expect(first.writes).toHaveLength(1);
    expect(first.writes[0]).toMatchObject({ status: 'open', severity: 'warning', notified: null, branch: '1111111111111111' });
    expect(first.notices.map((n) => n.change)).toEqual(['new']);
    const again = diffAlerts([finding('warning', 3)], first.writes, ctx());
    expect(again).toEqual({ writes: [], notices: [] });
  });

  it('updates in place as evidence grows, and notifies an escalation past what was delivered', () => {
    const [raised] = diffAlerts([finding('warning', 3)], [], ctx()).writes;
    const delivered = { ...raised, notified: 'warning' as const };
    const grown = diffAlerts([finding('warning', 5)], [delivered], ctx(2_000_000));
    expect(grown.writes).toHaveLength(1);
    expect(grown.writes[0]).toMatchObject({ id: raised.id, title: 'run_tests called 5×', firstSeen: raised.firstSeen });
    expect(grown.writes[0].lastSeen).not.toBe(raised.lastSeen);
    expect(grown.notices).toEqual([]);
    const acked = { ...grown.writes[0], status: 'acknowledged' as const };
    const escalated = diffAlerts([finding('critical', 10)], [acked], ctx());
    expect(escalated.writes[0]).toMatchObject({ id: raised.id, severity: 'critical', status: 'open' });
    expect(escalated.notices.map((n) => n.change)).toEqual(['escalated']);
  });

  it('never de-escalates, and keeps an acknowledgement while the evidence grows', () => {
    const [critical] = diffAlerts([finding('critical', 12)], [], ctx()).writes;
    const acked = { ...critical, status: 'acknowledged' as const, notified: 'critical' as const };
    const lower = diffAlerts([finding('warning', 4)], [acked], ctx());
    expect(lower).toEqual({ writes: [], notices: [] });
    const more = diffAlerts([finding('critical', 20)], [acked], ctx());
    expect(more.writes[0]).toMatchObject({ severity: 'critical', status: 'acknowledged' });
    expect(more.notices).toEqual([]);
  });

  it('resolves what is no longer found, and reopens it without a second delivery when it comes back', () => {
    const [raised] = diffAlerts([finding('warning', 3)], [], ctx()).writes;
    const delivered = { ...raised, notified: 'warning' as const };
    const gone = diffAlerts([], [delivered], ctx());
    expect(gone.writes[0]).toMatchObject({ id: raised.id, status: 'resolved' });
    const back = diffAlerts([finding('warning', 3)], apply([delivered], gone.writes), ctx());
    expect(back.writes[0]).toMatchObject({ id: raised.id, status: 'open' });
    expect(back.notices).toEqual([]);
  });

  it('keys a finding about the whole tree by (tree, rule): its span id follows the root once it arrives', () => {
    const running = diffAlerts([finding('warning', 1, { rule: 'stall', spanId: '2222222222222222' }, true)], [], ctx());
    expect(running.writes[0].branch).toBe('');
    const rooted = diffAlerts([finding('warning', 1, { rule: 'stall', spanId: '3333333333333333' }, true)], running.writes, ctx());
    expect(rooted.writes).toHaveLength(1);
    expect(rooted.writes[0]).toMatchObject({ id: running.writes[0].id, spanId: '3333333333333333' });
  });

  it('keeps one alert per branch: two branches looping are two alerts', () => {
    const two = diffAlerts([finding('warning', 3), finding('warning', 4, { spanId: '4444444444444444' })], [], ctx());
    expect(new Set(two.writes.map((w) => w.id)).size).toBe(2);
    expect(two.notices).toHaveLength(2);
  });
});
