// Recursive decomposition gone deep: each agent hands a sub-question to a copy of itself, 30+ levels.

import { agentSpan, llmCall, toolCall } from '../conventions';
import { MODELS } from '../models';
import { TreeBuilder, type PlanSpan } from '../plan';
import type { Scenario } from '../scenario';

export const DEEP_MIN_DEPTH = 30;

export const deep: Scenario = {
  name: 'deep',
  summary: `a tree ${DEEP_MIN_DEPTH}+ levels deep (an agent recursing into sub-questions)`,
  build(ctx) {
    const rng = ctx.rng;
    const b = new TreeBuilder(rng, 'deep');
    const levels = rng.int(DEEP_MIN_DEPTH + 2, DEEP_MIN_DEPTH + 6);
    const stack: PlanSpan[] = [];
    let t = 0;
    for (let level = 0; level < levels; level++) {
      const agent = agentSpan(b, stack.at(-1) ?? null, t, { name: 'Decomposer', description: `sub-question at level ${level}` });
      stack.push(agent);
      t = llmCall(b, agent, t + rng.int(2, 10), { model: MODELS.gpt4oMini, inputTokens: rng.int(800, 1500), outputTokens: rng.int(60, 150), finish: 'tool_calls' }).end + rng.int(2, 15);
    }
    t = toolCall(b, stack.at(-1)!, t, { name: 'web_search', args: { query: 'base case' } }).end;
    // Unwind: each level closes after its child answered.
    for (let i = stack.length - 1; i >= 0; i--) {
      t = b.close(stack[i]!, t + rng.int(2, 20)).end;
    }
    return b.finish({ agentLevels: levels });
  },
};
