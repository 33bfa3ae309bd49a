// The classic stuck agent: a coding agent runs the same failing test with the same arguments, reads the
// same failure, and tries again. Its sibling branch finishes normally, so killing just the stuck branch
// shows the rest of the request completing.

import { playAgent } from '../agents';
import { agentSpan, llmCall, toolCall } from '../conventions';
import { MODELS } from '../models';
import { TreeBuilder } from '../plan';
import type { Scenario } from '../scenario';

export const LOOP_AGENT = 'CodingAgent';
export const LOOP_TOOL = 'run_tests';
export const LOOP_ARGS = { path: 'tests/test_checkout.py', args: ['-x', '-q'] };

export const loop: Scenario = {
  name: 'loop',
  summary: 'an agent calls the same tool with the same arguments again and again (stuck agent)',
  build(ctx) {
    const rng = ctx.rng;
    const b = new TreeBuilder(rng, 'loop');
    const root = agentSpan(b, null, 0, { name: 'ReleaseManager', conversationId: `conv_${rng.token(16)}` });
    let t = llmCall(b, root, rng.int(3, 20), { model: MODELS.gpt4o, inputTokens: rng.int(1800, 2600), outputTokens: rng.int(150, 300), finish: 'tool_calls' }).end + rng.int(5, 20);

    // The healthy sibling: writes release notes and is done in a few steps.
    const docs = playAgent(b, root, t + rng.int(0, 10), {
      name: 'DocsWriter',
      flavour: 'genai',
      model: MODELS.gpt4oMini,
      steps: [
        { inputTokens: rng.int(1200, 2000), outputTokens: rng.int(150, 300), actions: [{ type: 'tool', tool: { name: 'read_file', args: { path: 'CHANGELOG.md' } } }] },
        { inputTokens: rng.int(2500, 3500), outputTokens: rng.int(400, 700), actions: [] },
      ],
    });

    const repeats = ctx.persistent ? 60 : rng.int(10, 14);
    const coder = agentSpan(b, root, t + rng.int(0, 10), { name: LOOP_AGENT, description: 'fix the failing checkout test' });
    let c = coder.start + rng.int(3, 15);
    let context = rng.int(3000, 4000);
    for (let i = 0; i < repeats; i++) {
      c = llmCall(b, coder, c, { model: MODELS.sonnet, inputTokens: context, outputTokens: rng.int(90, 160), finish: 'tool_calls' }).end + rng.int(5, 30);
      c = toolCall(b, coder, c, {
        name: LOOP_TOOL,
        args: LOOP_ARGS,
        durationMs: Math.round(rng.around(1400, 0.15)),
        result: 'FAILED tests/test_checkout.py::test_apply_coupon - AssertionError: expected 90.0, got 100.0',
      }, MODELS.sonnet).end + rng.int(5, 30);
      // The failure output is appended to the context every turn: each repeat costs more than the last.
      context += rng.int(900, 1300);
    }
    b.close(coder, c);
    t = Math.max(docs.end, coder.end) + rng.int(5, 20);
    t = llmCall(b, root, t, { model: MODELS.gpt4o, inputTokens: rng.int(3000, 4000), outputTokens: rng.int(200, 400) }).end;
    b.close(root, t + rng.int(3, 15));
    return b.finish({
      loopAgent: LOOP_AGENT,
      loopAgentSpanId: coder.spanId,
      toolName: LOOP_TOOL,
      toolArgs: JSON.stringify(LOOP_ARGS),
      repeats,
    });
  },
};
