// The detector's CPU work, off the event loop: parsing a batch's span rows, building each tree's snapshot and
// running the rules. A 100,000-span tree takes the better part of a second of JS; on the main thread that
// would hold every ingest acknowledgement and API answer for as long. The main thread keeps the I/O (reads,
// baselines, alert writes); this thread keeps the snapshots of the batch in hand between the two steps.
import { parentPort } from 'node:worker_threads';
import type { RootBaseline } from './baseline';
import { attributeBudget, judgeTree, type Judgement } from './judgement';
import type { DetectorSettings } from './settings';
import { buildSnapshot, detectorSpan, type TreeSnapshot } from './snapshot';
import { parseSpanRows } from './span-rows';
import { DETECTOR_NICE, lowerThisThreadPriority } from '../lib/server/thread-priority';

export type JudgeRequest =
  | { op: 'load'; id: number; rows: Uint8Array; lastSeen: Record<string, number>; now: number }
  | { op: 'judge'; id: number; trees: { traceId: string; baseline: RootBaseline | null }[]; settings: DetectorSettings }
  | { op: 'drop'; id: number; traceIds: string[] };

/** What the main thread needs of a loaded tree to fetch its baselines and order the batch. */
export interface TreeHead {
  traceId: string;
  serviceName: string;
  rootName: string;
  running: boolean;
  lastSpanMs: number;
  spans: number;
}

export type { Judgement, TreeSpend } from './judgement';

export type JudgeReply = { id: number; result: TreeHead[] | (Judgement | null)[] | null } | { id: number; error: string };

lowerThisThreadPriority(DETECTOR_NICE);

const loaded = new Map<string, { tree: TreeSnapshot; budget: number | null }>();

function load(rows: Uint8Array, lastSeen: Record<string, number>, now: number): TreeHead[] {
  const byTrace = parseSpanRows(Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength).toString('utf8'));
  const heads: TreeHead[] = [];
  for (const [traceId, spans] of byTrace) {
    const tree = buildSnapshot(spans.map(detectorSpan), { traceId, now, lastSeenMs: lastSeen[traceId] });
    loaded.set(traceId, { tree, budget: attributeBudget(spans) });
    heads.push({ traceId, serviceName: tree.serviceName, rootName: tree.rootName, running: tree.running, lastSpanMs: tree.lastSpanMs, spans: tree.totals.spans });
  }
  return heads;
}

function judge(traceId: string, baseline: RootBaseline | null, settings: DetectorSettings): Judgement | null {
  const entry = loaded.get(traceId);
  if (!entry) return null;
  loaded.delete(traceId);
  return judgeTree(entry.tree, entry.budget, baseline, settings);
}

parentPort!.on('message', (req: JudgeRequest) => {
  let reply: JudgeReply;
  try {
    if (req.op === 'load') reply = { id: req.id, result: load(req.rows, req.lastSeen, req.now) };
    else if (req.op === 'judge') reply = { id: req.id, result: req.trees.map((t) => judge(t.traceId, t.baseline, req.settings)) };
    else {
      for (const id of req.traceIds) loaded.delete(id);
      reply = { id: req.id, result: null };
    }
  } catch (err) {
    reply = { id: req.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  parentPort!.postMessage(reply);
});
parentPort!.postMessage({ ready: true });
