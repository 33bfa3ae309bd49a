// Healthy traffic: a planner fans out to 2–6 tools and sub-agents in parallel, then answers. Depth 2–5,
// mostly cents per tree with a long tail into tens of cents. The detector must stay silent on this.

import { playAgent, type Action, type AgentRun, type AgentStep } from '../agents';
import { agentSpan, embeddingCall, llmCall, toolCall, type Flavour } from '../conventions';
import { MODELS } from '../models';
import { TreeBuilder, type PlanSpan, type TreePlan } from '../plan';
import type { Rng } from '../random';
import type { Scenario } from '../scenario';
import { WORKFLOWS, type Workflow } from '../workflows';

export const NORMAL_MAX_DEPTH = 5;

export interface NormalOptions {
  scenario?: string;
  workflow?: Workflow;
  /** Mix OpenInference, Vercel AI SDK and older GenAI spans in (off where a test needs one convention). */
  mixConventions?: boolean;
  /** The occasional long-document request that costs tens of cents. */
  heavyTail?: boolean;
  /** Multiplies every model call's tokens: a cost spike is this tree with huge contexts. */
  inputScale?: number;
  outputScale?: number;
}

interface Sizing {
  rng: Rng;
  workflow: Workflow;
  mix: boolean;
  inputScale: number;
  outputScale: number;
}

function tokens(s: Sizing, median: number, scale: number): number {
  return Math.max(1, Math.round(s.rng.around(median, 0.35) * scale));
}

function pickFlavour(s: Sizing): Flavour {
  if (!s.mix) return 'genai';
  return s.rng.weighted<Flavour>([
    ['genai', 60],
    ['genai_legacy', 10],
    ['openinference', 15],
    ['vercel', 15],
  ]);
}

function toolAction(s: Sizing): Action {
  const template = s.rng.pick(s.workflow.tools);
  return { type: 'tool', tool: { name: template.name, args: template.args(s.rng) } };
}

/** A sub-agent whose span sits at `depth`; it never nests deeper than NORMAL_MAX_DEPTH. */
function subAgent(s: Sizing, depth: number, name: string): AgentRun {
  const { rng, workflow } = s;
  const budget = NORMAL_MAX_DEPTH - depth;
  let flavour = pickFlavour(s);
  if (flavour === 'vercel' && budget < 2) flavour = 'genai';
  const remote = depth === 1 && rng.chance(0.2);
  if (remote) flavour = 'genai';
  const model = rng.chance(0.25) ? workflow.planner : rng.pick(workflow.workers);
  const stepCount = rng.int(1, 3);
  const steps: AgentStep[] = [];
  for (let i = 0; i < stepCount; i++) {
    const actions: Action[] = [];
    if (i < stepCount - 1) {
      const count = rng.int(1, 2);
      for (let a = 0; a < count; a++) {
        const nest = flavour !== 'vercel' && budget >= 2 && rng.chance(depth === 1 ? 0.35 : 0.2);
        actions.push(nest ? { type: 'agent', agent: subAgent(s, depth + 1, rng.pick(workflow.subAgents)) } : toolAction(s));
      }
    }
    steps.push({
      inputTokens: tokens(s, 1600 + i * 900, s.inputScale),
      outputTokens: tokens(s, 260, s.outputScale),
      actions,
    });
  }
  return { name, flavour, model, service: remote ? 'worker' : undefined, steps };
}

/** Plans one normal tree. Also the shape behind cost_spike (same workflow, scaled tokens). */
export function planNormal(rng: Rng, opts: NormalOptions = {}): TreePlan {
  const b = new TreeBuilder(rng, opts.scenario ?? 'normal');
  const workflow = opts.workflow ?? rng.pick(WORKFLOWS);
  const s: Sizing = {
    rng,
    workflow,
    mix: opts.mixConventions ?? true,
    inputScale: opts.inputScale ?? 1,
    outputScale: opts.outputScale ?? 1,
  };
  const heavy = (opts.heavyTail ?? true) && rng.chance(0.1);
  const rootFlavour: Flavour = s.mix && rng.chance(0.15) ? 'genai_legacy' : 'genai';
  const root = agentSpan(b, null, 0, {
    name: workflow.agent,
    conversationId: `conv_${rng.token(16)}`,
    description: `handles one ${workflow.agent} request`,
  });
  const gap = () => rng.int(3, 30);
  let t = gap();

  if (rng.chance(0.35)) {
    // An in-house fine-tune routes the request first: a model no price table knows.
    t = llmCall(b, root, t, { model: MODELS.unknown, inputTokens: tokens(s, 600, s.inputScale), outputTokens: 6, flavour: rootFlavour }).end + gap();
  }
  if (workflow.retrieval && rng.chance(0.6)) {
    t = embeddingCall(b, root, t, MODELS.embedding, tokens(s, 40, s.inputScale)).end + gap();
  }

  const plannerInput = tokens(s, heavy ? 28000 : 2400, s.inputScale);
  t = llmCall(b, root, t, {
    model: workflow.planner,
    inputTokens: plannerInput,
    outputTokens: tokens(s, 260, s.outputScale),
    finish: 'tool_calls',
    flavour: rootFlavour,
  }).end + gap();

  const branches = rng.int(2, 6);
  let joined = t;
  for (let i = 0; i < branches; i++) {
    const at = t + rng.int(0, 15);
    // The first branch is always a sub-agent, so every normal tree is at least 2 levels deep.
    if (i === 0 || rng.chance(0.55)) {
      joined = Math.max(joined, playAgent(b, root, at, subAgent(s, 1, rng.pick(workflow.subAgents))).end);
    } else {
      const action = toolAction(s);
      if (action.type === 'tool') joined = Math.max(joined, toolCall(b, root, at, action.tool, workflow.planner).end);
    }
  }
  t = joined + gap();

  const synth = llmCall(b, root, t, {
    model: workflow.planner,
    inputTokens: Math.round(plannerInput * 0.6) + tokens(s, 300 * branches, s.inputScale),
    outputTokens: tokens(s, 420, s.outputScale),
    finish: 'stop',
    flavour: rootFlavour,
  });
  b.close(root, synth.end + gap());

  let lingering: PlanSpan | null = null;
  if (rng.chance(0.25)) {
    // Writing the conversation to memory outlives the request: it ends after the root was exported.
    lingering = toolCall(b, root, synth.start + rng.int(0, 40), {
      name: 'save_memory',
      args: { conversation: 'current', summary: true },
      durationMs: root.end - synth.start + Math.round(rng.around(700, 0.4)),
    });
    lingering.detached = true;
  }

  return b.finish({
    workflow: workflow.agent,
    branches,
    rootChildrenMin: branches + 2,
    lingering: lingering !== null,
    heavy,
  });
}

export const normal: Scenario = {
  name: 'normal',
  summary: 'healthy traffic: planner → 2–6 parallel tools/sub-agents → LLM calls, depth 2–5, mostly cents',
  build: (ctx) => planNormal(ctx.rng),
};
