// Two agents handing a task back and forth (Writer → Reviewer → Writer → …). No errors, normal latency,
// every turn costs tokens and the context grows: the $47k clarification loop, in miniature.

import { agentSpan, llmCall, toolCall } from '../conventions';
import { MODELS } from '../models';
import { TreeBuilder } from '../plan';
import type { Scenario } from '../scenario';

export const PINGPONG_AGENTS = ['Writer', 'Reviewer'] as const;

export const pingpong: Scenario = {
  name: 'pingpong',
  summary: 'two agents hand off to each other back and forth (A→B→A→B…), each turn costing tokens',
  build(ctx) {
    const rng = ctx.rng;
    const b = new TreeBuilder(rng, 'pingpong');
    const conversationId = `conv_${rng.token(16)}`;
    const root = agentSpan(b, null, 0, { name: 'ContentPipeline', conversationId });
    const turns = ctx.persistent ? 40 : 2 * rng.int(6, 7);
    let t = rng.int(3, 20);
    let context = rng.int(1500, 2500);
    for (let i = 0; i < turns; i++) {
      const name = PINGPONG_AGENTS[i % 2]!;
      const other = PINGPONG_AGENTS[(i + 1) % 2]!;
      const agent = agentSpan(b, root, t, { name, conversationId });
      const answer = llmCall(b, agent, agent.start + rng.int(2, 15), {
        model: MODELS.gpt4o,
        inputTokens: context,
        outputTokens: rng.int(250, 450),
        finish: 'tool_calls',
      });
      // Agents-SDK style handoff: the agent transfers control with a tool call.
      const handoff = toolCall(b, agent, answer.end + rng.int(2, 10), {
        name: `transfer_to_${other.toLowerCase()}`,
        // Each handoff carries the current draft, so no two calls repeat: this is a cycle between agents,
        // not one agent repeating itself.
        args: { reason: i % 2 === 0 ? 'draft ready for review' : 'please clarify the scope before I approve', draft_version: Math.floor(i / 2) + 1 },
        durationMs: rng.int(3, 12),
        result: `handed off to ${other}`,
      });
      b.close(agent, handoff.end + rng.int(2, 10));
      t = agent.end + rng.int(5, 40);
      context += rng.int(500, 800);
    }
    b.close(root, t);
    return b.finish({ agents: [...PINGPONG_AGENTS], turns, handoffs: turns });
  },
};
