// The contract every scenario module implements.

import type { TreePlan } from './plan';
import type { Rng } from './random';

export interface ScenarioContext {
  /** This tree's own stream. */
  rng: Rng;
  /** Another stream of this run, e.g. one a scenario shares between its baseline and its subject tree. */
  stream(role: string, index: number): Rng;
  /** The nth tree of this scenario in this run (0-based). */
  index: number;
  /**
   * Runaways in a live run (real time, not --once) keep going for minutes or until killed, so the kill
   * switch can be shown; otherwise they stop once their shape is unmistakable.
   */
  persistent: boolean;
  /** --spans, for trees whose size is a parameter. */
  spans?: number;
  /** How long a long-lived tree runs (slow_burn). */
  durationMs?: number;
  /** How many baseline trees a scenario that needs a baseline sends first. */
  baselineTrees: number;
}

export interface Scenario {
  name: string;
  /** One line for --help and the docs. */
  summary: string;
  build(ctx: ScenarioContext): TreePlan;
  /** Trees to send before this scenario's first tree in a run (e.g. the normal traffic a spike stands out from). */
  baseline?(ctx: ScenarioContext): TreePlan[];
}
