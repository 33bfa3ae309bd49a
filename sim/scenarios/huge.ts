// Volume, not pathology: one bulk job of 10,000 spans (or --spans N, up to 100,000), for testing ingest,
// storage and the UI at size.

import { agentSpan, llmCall, toolCall } from '../conventions';
import { MODELS } from '../models';
import { TreeBuilder } from '../plan';
import type { Scenario } from '../scenario';

export const HUGE_DEFAULT_SPANS = 10_000;
export const HUGE_MAX_SPANS = 100_000;
const WORKER_SIZE = 100; // items per worker
const CONCURRENCY = 25; // workers running at once

export const huge: Scenario = {
  name: 'huge',
  summary: `one tree of ${HUGE_DEFAULT_SPANS.toLocaleString('en-US')} spans (--spans N, up to ${HUGE_MAX_SPANS.toLocaleString('en-US')})`,
  build(ctx) {
    const rng = ctx.rng;
    const total = Math.min(HUGE_MAX_SPANS, Math.max(2, ctx.spans ?? HUGE_DEFAULT_SPANS));
    const b = new TreeBuilder(rng, 'huge');
    const root = agentSpan(b, null, 0, { name: 'BulkClassifier', conversationId: `conv_${rng.token(16)}` });
    const workers = Math.max(1, Math.round((total - 1) / (WORKER_SIZE + 1)));
    const items = total - 1 - workers;
    const lanes: number[] = new Array(Math.min(CONCURRENCY, workers)).fill(rng.int(5, 20));
    let end = 0;
    for (let w = 0; w < workers; w++) {
      const lane = w % lanes.length;
      const worker = agentSpan(b, root, lanes[lane]!, { name: 'ClassifierWorker' });
      let t = worker.start + rng.int(1, 5);
      const count = Math.floor(items / workers) + (w < items % workers ? 1 : 0);
      for (let i = 0; i < count; i++) {
        const span = rng.chance(0.75)
          ? llmCall(b, worker, t, { model: MODELS.gpt4oMini, inputTokens: rng.int(300, 700), outputTokens: rng.int(3, 12), latencyMs: rng.int(120, 400) })
          : toolCall(b, worker, t, { name: 'lookup_label', args: { doc_id: `doc_${w * WORKER_SIZE + i}` }, durationMs: rng.int(10, 60) });
        t = span.end + rng.int(1, 5);
      }
      lanes[lane] = b.close(worker, t + rng.int(1, 5)).end + rng.int(1, 10);
      end = Math.max(end, worker.end);
    }
    b.close(root, end + rng.int(5, 20));
    return b.finish({ workers });
  },
};
