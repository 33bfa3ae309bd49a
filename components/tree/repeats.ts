// Repeated identical calls: siblings with the same call signature (the ingest's hash of a tool and its
// arguments, or a model and its input: ingest/normalise/signature.ts) are one call made again and again, the
// shape of a stuck agent. The tree shows them as one row, "× 37 run_tests(path=src/)", that opens to the calls.
import type { SpanView } from '@/lib/domain';
import { childrenOf, pendingTops, topsOf, type SpanTree, type TreeNode } from '../span-tree';

/** Fewer identical siblings than this are shown one by one. */
export const MIN_REPEATS = 3;

export interface RepeatGroup {
  /** Stable while the tree grows: the parent and the signature. */
  key: string;
  signature: string;
  /** In tree order; the group's row stands where the first one is. */
  members: TreeNode[];
  label: string;
}

export interface RepeatIndex {
  /** The group a span belongs to, by span id. */
  groupOf: Map<string, RepeatGroup>;
  groups: RepeatGroup[];
}

/** Every group of repeated calls in the tree, each among the children of one span (or among the tops). */
export function repeatGroups(tree: SpanTree, min = MIN_REPEATS): RepeatIndex {
  const groupOf = new Map<string, RepeatGroup>();
  const groups: RepeatGroup[] = [];
  const scan = (parentKey: string, siblings: TreeNode[]) => {
    if (siblings.length < min) return;
    const bySignature = new Map<string, TreeNode[]>();
    for (const n of siblings) {
      const sig = n.span.callSignature;
      if (!sig) continue;
      const list = bySignature.get(sig);
      if (list) list.push(n);
      else bySignature.set(sig, [n]);
    }
    for (const [signature, members] of bySignature) {
      if (members.length < min) continue;
      const group: RepeatGroup = { key: `${parentKey}:${signature}`, signature, members, label: callLabel(members[0].span) };
      groups.push(group);
      for (const m of members) groupOf.set(m.span.spanId, group);
    }
  };
  // The branches under a parent that has not arrived are its children: grouped under its id, as they will be
  // once it arrives (an opened group stays open).
  const pending = new Set<TreeNode>();
  for (const p of tree.pendingParents) {
    const tops = pendingTops(tree, p);
    for (const t of tops) pending.add(t);
    scan(p.spanId, tops);
  }
  scan('top', pending.size > 0 ? topsOf(tree).filter((t) => !pending.has(t)) : topsOf(tree));
  for (const node of tree.nodes) if (node.childCount >= min) scan(node.span.spanId, childrenOf(tree, node));
  return { groupOf, groups };
}

const TOOL_ARG_KEYS = ['gen_ai.tool.call.arguments', 'ai.toolCall.args', 'input.value'] as const;
const LABEL_ARGS_CHARS = 60;

/** What a call is, for a person: `run_tests(path=src/)` for a tool with its arguments, else the span's name. */
export function callLabel(span: Pick<SpanView, 'category' | 'name' | 'toolName' | 'attributes'>): string {
  if (span.category !== 'tool') return span.name;
  const tool = span.toolName || span.name;
  const raw = TOOL_ARG_KEYS.map((k) => span.attributes?.[k]).find((v) => v !== undefined && v !== '');
  if (raw === undefined) return `${tool}()`;
  return `${tool}(${clip(argsText(raw), LABEL_ARGS_CHARS)})`;
}

/** `{"path":"src/","n":2}` → `path=src/, n=2`; anything else as it is. */
function argsText(raw: string): string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return raw;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return typeof value === 'string' ? value : JSON.stringify(value);
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
}

function clip(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}
