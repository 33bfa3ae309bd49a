// The alerts and settings pages' pure helpers: how a 400 maps onto fields, what changed, how alerts are named.
import { describe, expect, it } from 'vitest';
import { DETECTOR_RULES, type Alert } from '../../lib/domain';
import { detectorSettingsSchema, DEFAULT_SETTINGS } from '../../detector/settings';
import { issuesText } from '../../lib/server/request-body';
import { changedFields, changedRules, fieldErrors, fieldLabel, thresholdsChanged, type SettingsDraft } from '../../components/settings/rule-fields';
import { alertLink, alertScope, autoKillText, RULE_LABEL } from '../../components/alerts/alert-labels';

/** What PUT /api/detector/rules answers for a body: the same text, built the same way. */
function putMessage(body: unknown): string {
  const parsed = detectorSettingsSchema.safeParse(body);
  if (parsed.success) throw new Error('expected a 400');
  return issuesText(parsed.error.issues);
}

describe('fieldErrors', () => {
  it("puts each of the API's messages under the field it names", () => {
    const message = putMessage({ loop: { consecutive: 1 }, fanout: { minChildren: 'many' } });
    const errors = fieldErrors(message);
    expect(Object.keys(errors).sort()).toEqual(['fanout.minChildren', 'loop.consecutive']);
    expect(message).toContain(`loop.consecutive: ${errors['loop.consecutive']}`);
    expect(errors['loop.consecutive']).toMatch(/2/);
  });

  it("reads a refinement's field, and the backtest's rules. prefix", () => {
    const message = putMessage({ loop: { consecutive: 5, critical: 4 } });
    expect(fieldErrors(message)['loop.critical']).toContain('critical must exceed');
    expect(fieldErrors(`rules.${message}`)).toEqual(fieldErrors(message));
  });

  it('gives an array item’s error to its array, and text naming no field to ""', () => {
    const message = putMessage({ retry_storm: { errorClasses: ['rate_limited', 'bogus'] } });
    expect(Object.keys(fieldErrors(message))).toEqual(['retry_storm.errorClasses']);
    expect(fieldErrors('(body): Unrecognized key: "loops"')).toEqual({ '': 'Unrecognized key: "loops"' });
    expect(fieldErrors('The body is not JSON: Unexpected token')).toEqual({ '': 'The body is not JSON: Unexpected token' });
  });
});

describe('changes', () => {
  const saved = structuredClone(DEFAULT_SETTINGS) as unknown as SettingsDraft;
  it('lists the changed fields, policies included, and tells thresholds from policies', () => {
    const draft = structuredClone(saved);
    draft.loop.consecutive = 4;
    expect(changedFields(saved, draft)).toEqual(['loop.consecutive']);
    expect(thresholdsChanged(changedFields(saved, draft))).toBe(true);
    expect(changedRules(changedFields(saved, draft), DETECTOR_RULES)).toEqual(['loop']);

    const policy = structuredClone(saved);
    policy.autoKill.loop = { mode: 'enforce', warning: 'off', critical: 'branch' };
    expect(changedFields(saved, policy)).toEqual(['autoKill.loop']);
    expect(thresholdsChanged(changedFields(saved, policy))).toBe(false);
  });

  it('shows every rule for a baseline change, which all of them use', () => {
    expect(changedRules(['baseline.minTrees'], DETECTOR_RULES)).toEqual([...DETECTOR_RULES]);
  });

  it('labels known fields and spells out unknown ones', () => {
    expect(fieldLabel('loop', 'consecutive')).toBe('Same call in a row');
    expect(fieldLabel('loop', 'someNewKnob')).toBe('Some New Knob');
  });
});

describe('alert labels', () => {
  const alert = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), evidence: { details: {} } } as unknown as Alert;
  it('links to the tree with the branch selected', () => {
    expect(alertLink(alert)).toBe(`/traces/${'a'.repeat(32)}?span=${'b'.repeat(16)}`);
  });
  it('kills the tree for a finding about the whole tree, else the branch', () => {
    expect(alertScope(alert)).toBe('branch');
    expect(alertScope({ evidence: { details: { scope: 'tree' } } } as unknown as Alert)).toBe('tree');
  });
  it('says what a policy did or would have done', () => {
    expect(autoKillText({ mode: 'observe', action: 'branch', spanId: 'c'.repeat(16), severity: 'critical', at: '', killed: false })).toBe(
      `Would have killed the branch under span ${'c'.repeat(16)} (policy in observe mode, on critical)`,
    );
    expect(autoKillText({ mode: 'enforce', action: 'tree', spanId: null, severity: 'warning', at: '', killed: true })).toBe('Killed the whole tree automatically (on warning)');
  });
  it('names every rule', () => {
    for (const rule of [...DETECTOR_RULES, 'budget' as const]) expect(RULE_LABEL[rule]).toMatch(/^[A-Z]/);
  });
});
