// A rate limit turned into a storm: several branches hit 429 at once and each retries immediately, with
// no backoff, so they keep each other over the limit.

import { agentSpan, llmCall, type LlmError } from '../conventions';
import { MODELS } from '../models';
import { TreeBuilder } from '../plan';
import type { Scenario } from '../scenario';

export const RATE_LIMITED: LlmError = {
  statusCode: 429,
  errorType: 'RateLimitError',
  message:
    'Error code: 429 - Rate limit reached for gpt-4o in organization org-sim on tokens per min (TPM): Limit 30000, Used 29874, Requested 2412. Please try again in 4.572s.',
};

export const retry_storm: Scenario = {
  name: 'retry_storm',
  summary: 'LLM calls failing with 429 and retried immediately by several branches at once',
  build(ctx) {
    const rng = ctx.rng;
    const b = new TreeBuilder(rng, 'retry_storm');
    const root = agentSpan(b, null, 0, { name: 'BatchSummarizer', conversationId: `conv_${rng.token(16)}` });
    const t = llmCall(b, root, rng.int(3, 20), { model: MODELS.gpt4o, inputTokens: rng.int(1500, 2500), outputTokens: rng.int(150, 300), finish: 'tool_calls' }).end + rng.int(5, 20);
    const branches = rng.int(5, 8);
    let joined = t;
    let errors = 0;
    let minAttempts = Infinity;
    let exhausted = 0;
    for (let i = 0; i < branches; i++) {
      const branch = agentSpan(b, root, t + rng.int(0, 15), { name: 'Summarizer' });
      const failures = ctx.persistent ? rng.int(300, 450) : rng.int(8, 12);
      // Most branches eventually get through; the others give up and fail the branch.
      const succeeds = ctx.persistent || i % 3 !== 2;
      let c = branch.start + rng.int(2, 10);
      const input = rng.int(2000, 2800);
      for (let a = 0; a < failures; a++) {
        c = llmCall(b, branch, c, { model: MODELS.gpt4o, inputTokens: input, outputTokens: 0, error: RATE_LIMITED }).end + rng.int(2, 40);
        errors++;
      }
      if (succeeds) {
        c = llmCall(b, branch, c, { model: MODELS.gpt4o, inputTokens: input, outputTokens: rng.int(200, 400) }).end;
      } else {
        b.fail(branch, 'giving up after repeated 429 responses');
        branch.attributes['error.type'] = RATE_LIMITED.errorType;
        exhausted++;
      }
      joined = Math.max(joined, b.close(branch, c + rng.int(2, 10)).end);
      minAttempts = Math.min(minAttempts, failures + (succeeds ? 1 : 0));
    }
    b.close(root, joined + rng.int(5, 20));
    if (exhausted > 0) b.fail(root, `${exhausted} of ${branches} summaries failed: rate limited`);
    return b.finish({
      branches,
      errors,
      statusCode: 429,
      errorType: RATE_LIMITED.errorType,
      attemptsPerBranchMin: minAttempts,
      exhaustedBranches: exhausted,
    });
  },
};
