// Every scenario the CLI knows, in the order --help lists them.

import type { Scenario } from '../scenario';
import { cost_spike } from './cost_spike';
import { deep } from './deep';
import { fanout } from './fanout';
import { huge } from './huge';
import { loop } from './loop';
import { normal } from './normal';
import { pingpong } from './pingpong';
import { retry_storm } from './retry_storm';
import { slow_burn } from './slow_burn';

export const SCENARIOS: readonly Scenario[] = [normal, loop, pingpong, fanout, cost_spike, retry_storm, slow_burn, deep, huge];

export const SCENARIO_NAMES: readonly string[] = SCENARIOS.map((s) => s.name);

export function scenarioByName(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
