// An agent run as frameworks trace it: think (a model call), act (tool calls and sub-agents in parallel),
// repeat, answer. Scenarios describe runs as data and this module lays them out in time and spans.

import {
  agentSpan,
  llmCall,
  toolCall,
  vercelLoopSpan,
  vercelLoopUsage,
  vercelStep,
  type Flavour,
  type ToolSpec,
} from './conventions';
import type { ModelSpec } from './models';
import type { PlanSpan, ServiceRole, TreeBuilder } from './plan';

export type Action = { type: 'tool'; tool: ToolSpec } | { type: 'agent'; agent: AgentRun };

export interface AgentStep {
  inputTokens: number;
  outputTokens: number;
  /** Run in parallel after the model call asked for them. */
  actions: Action[];
}

export interface AgentRun {
  name: string;
  flavour: Flavour;
  model: ModelSpec;
  service?: ServiceRole;
  conversationId?: string;
  steps: AgentStep[];
}

/** Lays out one agent run under `parent` starting at `start`; returns the agent span, closed. */
export function playAgent(b: TreeBuilder, parent: PlanSpan | null, start: number, run: AgentRun): PlanSpan {
  const rng = b.rng;
  const agent = agentSpan(b, parent, start, {
    name: run.name,
    flavour: run.flavour === 'openinference' ? 'openinference' : 'genai',
    service: run.service,
    conversationId: run.conversationId,
  });
  let t = start + rng.int(2, 25);

  if (run.flavour === 'vercel') {
    // The AI SDK runs the whole think/act loop inside one generateText call.
    const loop = vercelLoopSpan(b, agent, t, run.model);
    let s = t + rng.int(1, 4);
    for (const step of run.steps) {
      const finish = step.actions.length > 0 ? 'tool_calls' : 'stop';
      s = vercelStep(b, loop, s, run.model, step.inputTokens, step.outputTokens, finish).end + rng.int(1, 8);
      let ends = s;
      for (const action of step.actions) {
        // Sub-agents are not modelled inside the AI SDK loop; the tool that would run one is traced instead.
        const tool: ToolSpec = action.type === 'tool' ? action.tool : { name: `ask_${action.agent.name.toLowerCase()}`, args: {} };
        ends = Math.max(ends, toolCall(b, loop, s + rng.int(0, 6), { ...tool, flavour: 'vercel' }, run.model).end);
      }
      s = ends + rng.int(2, 20);
    }
    vercelLoopUsage(b, loop);
    b.close(loop, s);
    return b.close(agent, s + rng.int(1, 10));
  }

  for (const step of run.steps) {
    const finish = step.actions.length > 0 ? 'tool_calls' : 'stop';
    t = llmCall(b, agent, t, {
      model: run.model,
      inputTokens: step.inputTokens,
      outputTokens: step.outputTokens,
      flavour: run.flavour,
      finish,
    }).end;
    t += rng.int(2, 30);
    let ends = t;
    for (const action of step.actions) {
      const at = t + rng.int(0, 15);
      const child =
        action.type === 'tool'
          ? toolCall(b, agent, at, { ...action.tool, flavour: action.tool.flavour ?? run.flavour }, run.model)
          : playAgent(b, agent, at, action.agent);
      ends = Math.max(ends, child.end);
    }
    t = ends + rng.int(5, 40);
  }
  return b.close(agent, t);
}
