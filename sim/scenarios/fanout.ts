// Recursive decomposition gone wide: one research request becomes 47+ workers, each firing several model
// calls at once.

import { agentSpan, llmCall } from '../conventions';
import { MODELS } from '../models';
import { TreeBuilder } from '../plan';
import type { Scenario } from '../scenario';

export const FANOUT_MIN_WORKERS = 47;

export const fanout: Scenario = {
  name: 'fanout',
  summary: `one request becomes ${FANOUT_MIN_WORKERS}+ workers, each making several LLM calls at once`,
  build(ctx) {
    const rng = ctx.rng;
    const b = new TreeBuilder(rng, 'fanout');
    const root = agentSpan(b, null, 0, { name: 'DeepResearch', conversationId: `conv_${rng.token(16)}` });
    let t = llmCall(b, root, rng.int(3, 20), { model: MODELS.sonnet, inputTokens: rng.int(2000, 3000), outputTokens: rng.int(1200, 1800), finish: 'tool_calls' }).end + rng.int(5, 20);
    const workers = ctx.persistent ? rng.int(90, 120) : rng.int(FANOUT_MIN_WORKERS, FANOUT_MIN_WORKERS + 6);
    const callsPerWorker = rng.int(3, 5);
    let joined = t;
    for (let w = 0; w < workers; w++) {
      const worker = agentSpan(b, root, t + rng.int(0, 120), { name: 'SubQuestionWorker' });
      let ends = worker.start;
      for (let c = 0; c < callsPerWorker; c++) {
        const at = worker.start + rng.int(2, 30);
        ends = Math.max(ends, llmCall(b, worker, at, { model: MODELS.haiku, inputTokens: rng.int(2500, 6000), outputTokens: rng.int(200, 500) }).end);
      }
      const reduce = llmCall(b, worker, ends + rng.int(5, 20), { model: MODELS.haiku, inputTokens: rng.int(2000, 3000), outputTokens: rng.int(150, 300) });
      joined = Math.max(joined, b.close(worker, reduce.end + rng.int(2, 10)).end);
    }
    t = llmCall(b, root, joined + rng.int(5, 30), { model: MODELS.sonnet, inputTokens: rng.int(20000, 30000), outputTokens: rng.int(1500, 2500) }).end;
    b.close(root, t + rng.int(3, 15));
    return b.finish({ fanout: workers, workers, parallelCallsPerWorker: callsPerWorker, llmCallsPerWorker: callsPerWorker + 1 });
  },
};
