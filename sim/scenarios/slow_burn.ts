// Nothing looks wrong step by step: a monitoring agent keeps polling, thinking and spending at a steady
// rate, for minutes, with no end in sight. Only the running total and the spend rate give it away.

import { agentSpan, llmCall, toolCall } from '../conventions';
import { MODELS } from '../models';
import { TreeBuilder } from '../plan';
import type { Scenario } from '../scenario';

export const SLOW_BURN_DEFAULT_MS = 3 * 60_000;
const SYMBOLS = ['ACME', 'GLOBX', 'INIT', 'UMBR', 'HOOLI', 'STARK'];

export const slow_burn: Scenario = {
  name: 'slow_burn',
  summary: 'one tree that keeps running and spending steadily for minutes (length: --duration, else 3m)',
  build(ctx) {
    const rng = ctx.rng;
    const b = new TreeBuilder(rng, 'slow_burn');
    const target = Math.max(30_000, ctx.durationMs ?? SLOW_BURN_DEFAULT_MS);
    const root = agentSpan(b, null, 0, { name: 'MarketWatcher', conversationId: `conv_${rng.token(16)}` });
    let t = rng.int(3, 20);
    let steps = 0;
    while (t < target - 8_000) {
      const minute = Math.floor(t / 60_000);
      const call = llmCall(b, root, t, { model: MODELS.sonnet, inputTokens: rng.int(5200, 6400), outputTokens: rng.int(300, 450), finish: 'tool_calls' });
      const poll = toolCall(b, root, call.end + rng.int(3, 20), {
        name: 'fetch_quotes',
        // The arguments move on every poll: this is not a loop, just an agent that never stops.
        args: { symbols: [rng.pick(SYMBOLS), rng.pick(SYMBOLS)], window: `${minute}m`, step: steps },
        durationMs: rng.int(300, 900),
      });
      steps++;
      t = poll.end + rng.int(2_000, 5_000);
    }
    b.close(root, Math.max(t, target));
    return b.finish({ steps, minDurationMs: target - 10_000, steadySpend: true });
  },
};
