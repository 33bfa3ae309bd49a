// Small hand-made trees for the detector's tests, planned with the simulator's own span shapes
// (sim/conventions.ts), so they reach the rules through the real normaliser like any scenario.
import { agentSpan, llmCall, toolCall } from '../../sim/conventions';
import { MODELS } from '../../sim/models';
import { TreeBuilder, type PlanSpan, type TreePlan } from '../../sim/plan';
import { Rng, treeRng } from '../../sim/random';
import type { ScenarioContext } from '../../sim/scenario';
import { scenarioByName } from '../../sim/scenarios/index';

export function scenarioCtx(name: string, seed = 1, index = 0, over: Partial<ScenarioContext> = {}): ScenarioContext {
  return {
    rng: treeRng(seed, name, 'tree', index),
    stream: (role, i) => treeRng(seed, name, role, i),
    index,
    persistent: false,
    baselineTrees: 30,
    ...over,
  };
}

/** The nth tree of a simulator scenario for a seed, as the CLI would plan it. */
export function scenarioPlan(name: string, seed = 1, index = 0, over: Partial<ScenarioContext> = {}): TreePlan {
  const scenario = scenarioByName(name);
  if (!scenario) throw new Error(`no scenario ${name}`);
  return scenario.build(scenarioCtx(name, seed, index, over));
}

export interface CallSpec {
  /** Tool arguments; `null`: the span records no arguments at all. */
  args?: Record<string, unknown> | null;
  /** Model prompt; `null`: the span records no input (content capture off). */
  prompt?: string | null;
  inputTokens?: number;
  error?: { statusCode: number; errorType: string; message: string };
  tool?: string;
}

/** A root agent whose one sub-agent makes these calls one after another (tool calls when `tool`, else model calls). */
export function agentCalls(calls: CallSpec[], opts: { agent?: string; root?: string; seed?: string } = {}): { plan: TreePlan; agent: PlanSpan; calls: PlanSpan[] } {
  const b = new TreeBuilder(new Rng(opts.seed ?? 'detector-test'), 'test');
  const root = agentSpan(b, null, 0, { name: opts.root ?? 'Orchestrator' });
  const agent = agentSpan(b, root, 5, { name: opts.agent ?? 'Worker' });
  let t = 10;
  const spans: PlanSpan[] = [];
  for (const c of calls) {
    let span: PlanSpan;
    if (c.tool) {
      span = toolCall(b, agent, t, { name: c.tool, args: c.args ?? {}, durationMs: 50 });
      if (c.args === null) delete span.attributes['gen_ai.tool.call.arguments'];
      if (c.error) {
        b.fail(span, c.error.message);
        span.attributes['error.type'] = c.error.errorType;
        span.attributes['http.response.status_code'] = c.error.statusCode;
      }
    } else {
      span = llmCall(b, agent, t, {
        model: MODELS.gpt4o,
        inputTokens: c.inputTokens ?? 1000,
        outputTokens: 100,
        prompt: c.prompt ?? undefined,
        error: c.error,
      });
      if (c.prompt === null) delete span.attributes['gen_ai.input.messages'];
    }
    spans.push(span);
    t = span.end + 20;
  }
  b.close(agent, t);
  b.close(root, t + 5);
  return { plan: b.finish({}), agent, calls: spans };
}

/** Two agents taking turns: as siblings under one parent, or nested each inside the previous one. */
export function handoffs(turns: number, shape: 'siblings' | 'nested', names: readonly string[] = ['Writer', 'Reviewer']): { plan: TreePlan; root: PlanSpan; agents: PlanSpan[] } {
  const b = new TreeBuilder(new Rng(`handoffs-${shape}-${turns}`), 'test');
  const root = agentSpan(b, null, 0, { name: 'ContentPipeline' });
  const agents: PlanSpan[] = [];
  let t = 5;
  let parent = root;
  for (let i = 0; i < turns; i++) {
    const agent = agentSpan(b, parent, t, { name: names[i % names.length] });
    const call = llmCall(b, agent, t + 2, { model: MODELS.gpt4oMini, inputTokens: 800, outputTokens: 80 });
    agents.push(agent);
    if (shape === 'siblings') {
      t = b.close(agent, call.end + 5).end + 10;
    } else {
      t = call.end + 5;
      parent = agent;
    }
  }
  if (shape === 'nested') for (let i = agents.length - 1; i >= 0; i--) t = b.close(agents[i], t + 3).end;
  b.close(root, t + 5);
  return { plan: b.finish({}), root, agents };
}
