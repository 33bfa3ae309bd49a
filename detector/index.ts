// The runaway detector's decision side: pure rules over one tree snapshot (and its history). Storage,
// ticks, alerts and delivery call `evaluateTree` and keep its findings, one alert per (tree, rule, branch).
import type { DetectorRule, RuleFinding } from '../lib/domain';
import type { Rule, RuleContext } from './rule';
import { contextBloatRule } from './rules/context-bloat';
import { costSpikeRule } from './rules/cost-spike';
import { fanoutRule } from './rules/fanout';
import { loopRule } from './rules/loop';
import { pingpongRule } from './rules/pingpong';
import { retryStormRule } from './rules/retry-storm';
import { stallRule } from './rules/stall';
import type { TreeSnapshot } from './snapshot';

export const RULES: Readonly<Record<DetectorRule, Rule>> = {
  loop: loopRule,
  pingpong: pingpongRule,
  fanout: fanoutRule,
  retry_storm: retryStormRule,
  context_bloat: contextBloatRule,
  cost_spike: costSpikeRule,
  stall: stallRule,
};

const RULE_LIST: readonly Rule[] = Object.values(RULES);

/** Every enabled rule over one tree: at most one finding per (rule, branch). */
export function evaluateTree(tree: TreeSnapshot, ctx: RuleContext): RuleFinding[] {
  const out: RuleFinding[] = [];
  for (let r = 0; r < RULE_LIST.length; r++) {
    const found = RULE_LIST[r](tree, ctx);
    for (let f = 0; f < found.length; f++) out.push(found[f]);
  }
  return out;
}

export { chooseBaseline, type Rule, type RuleContext } from './rule';
export { buildSnapshot, detectorSpan, type DetectorSpan, type StoredSpanFields, type TreeSnapshot } from './snapshot';
export { baselineKey, summariseHistory, treeStats, type RootBaseline, type TreeStats } from './baseline';
export { DEFAULT_SETTINGS, detectorSettingsSchema, parseSettings, withSettings, type DetectorSettings, type DetectorSettingsInput } from './settings';
export { serviceSpendAnomaly, type ServiceSpendAnomaly } from './rules/cost-spike';
