// A tree is planned in full (pure data, from the seeded stream) before it is played through the OTel SDK.
// Planning first keeps shapes and ids deterministic whatever the wall clock, concurrency or kill checks do,
// and lets tests assert shapes without a network.

import { estimateCostUsd, type ModelSpec } from './models';
import type { Rng } from './random';

export type AttrValue = string | number | boolean | string[] | number[];
export type Attrs = Record<string, AttrValue>;

/** OTel SpanKind values (kept numeric here so plans stay plain data). */
export const Kind = { INTERNAL: 0, SERVER: 1, CLIENT: 2 } as const;
export type KindValue = (typeof Kind)[keyof typeof Kind];

/** Which simulated process emits the span: the app itself or a remote worker service. */
export type ServiceRole = 'main' | 'worker';

export interface PlanEvent {
  name: string;
  at: number; // ms offset from the tree start
  attributes: Attrs;
}

export interface PlanSpan {
  index: number;
  spanId: string;
  parent: number; // index of the parent, -1 for the root
  name: string;
  kind: KindValue;
  scope: string; // instrumentation scope name, differs by convention as real instrumentations do
  service: ServiceRole;
  start: number; // ms offset from the tree start
  end: number;
  attributes: Attrs;
  status: 'unset' | 'ok' | 'error';
  statusMessage: string;
  events: PlanEvent[];
  /** Ends after its parent ended; the player flushes the parent's exporter before ending it. */
  detached: boolean;
}

export interface TreePlan {
  scenario: string;
  traceId: string;
  rootName: string;
  spans: PlanSpan[]; // parents always precede their children
  durationMs: number; // root start to the last span end
  expect: Record<string, unknown>;
  /** Set on baseline trees: the scenario whose subject tree they are the baseline for. */
  baselineFor?: string;
}

export interface SpanInit {
  kind?: KindValue;
  scope?: string;
  service?: ServiceRole;
  attributes?: Attrs;
}

export const DEFAULT_SCOPE = 'canopy-sim';

/** Builds one tree; scenario modules and convention helpers add spans to it. */
export class TreeBuilder {
  readonly traceId: string;
  readonly spans: PlanSpan[] = [];
  /** Model usage per span index, for the cost estimate that sizes scenarios. */
  readonly usage = new Map<number, { model: ModelSpec; input: number; output: number }>();

  constructor(
    readonly rng: Rng,
    readonly scenario: string,
  ) {
    this.traceId = rng.hex(16);
  }

  open(parent: PlanSpan | null, name: string, start: number, init: SpanInit = {}): PlanSpan {
    if (parent === null && this.spans.length > 0) throw new Error('a tree has exactly one root');
    if (parent !== null && start < parent.start) throw new Error(`child ${name} starts before its parent`);
    const span: PlanSpan = {
      index: this.spans.length,
      spanId: this.rng.hex(8),
      parent: parent === null ? -1 : parent.index,
      name,
      kind: init.kind ?? Kind.INTERNAL,
      scope: init.scope ?? DEFAULT_SCOPE,
      service: init.service ?? (parent === null ? 'main' : parent.service),
      start,
      end: start,
      attributes: { ...(init.attributes ?? {}) },
      status: 'unset',
      statusMessage: '',
      events: [],
      detached: false,
    };
    this.spans.push(span);
    return span;
  }

  close(span: PlanSpan, end: number): PlanSpan {
    span.end = Math.max(end, span.start);
    return span;
  }

  fail(span: PlanSpan, message: string): PlanSpan {
    span.status = 'error';
    span.statusMessage = message;
    return span;
  }

  recordUsage(span: PlanSpan, model: ModelSpec, input: number, output: number): void {
    this.usage.set(span.index, { model, input, output });
  }

  /** Spend by the public price table; unpriced calls are counted, not guessed. */
  estimateCost(): { usd: number; unpricedCalls: number } {
    let usd = 0;
    let unpricedCalls = 0;
    for (const { model, input, output } of this.usage.values()) {
      const cost = estimateCostUsd(model, input, output);
      if (cost === null) unpricedCalls++;
      else usd += cost;
    }
    return { usd, unpricedCalls };
  }

  root(): PlanSpan {
    const root = this.spans[0];
    if (!root) throw new Error('tree has no root yet');
    return root;
  }

  /** Closes the plan: checks nesting so a bad scenario fails at plan time, not as a broken tree. */
  finish(expect: Record<string, unknown>): TreePlan {
    const root = this.root();
    for (const span of this.spans) {
      if (span.parent < 0) continue;
      const parent = this.spans[span.parent]!;
      if (!span.detached && span.end > parent.end) {
        throw new Error(`${this.scenario}: span ${span.name} ends after its parent ${parent.name} but is not detached`);
      }
    }
    const durationMs = Math.max(...this.spans.map((s) => s.end)) - root.start;
    const cost = this.estimateCost();
    const stats = planStats(this.spans);
    for (const key of Object.keys(expect)) {
      if (key in stats) throw new Error(`${this.scenario}: expect.${key} would hide the computed ${key}`);
    }
    return {
      scenario: this.scenario,
      traceId: this.traceId,
      rootName: root.name,
      spans: this.spans,
      durationMs,
      expect: {
        ...stats,
        estCostUsd: Number(cost.usd.toFixed(6)),
        unpricedCalls: cost.unpricedCalls,
        ...expect,
      },
    };
  }
}

export interface PlanStats {
  spans: number;
  maxDepth: number; // edges from the root to the deepest span (the root is depth 0, as span.depth)
  levels: number; // maxDepth + 1: levels in the tree (what a trace summary's maxDepth counts)
  maxFanout: number; // most direct children of any one span
  errorSpans: number;
  llmCalls: number; // spans that are themselves model calls (usage counted once)
  services: number;
}

/** Shape facts every tree reports in its `expect`, computed from the plan rather than claimed. */
export function planStats(spans: readonly PlanSpan[]): PlanStats {
  const depth: number[] = [];
  const children = new Map<number, number>();
  let maxDepth = 0;
  let errorSpans = 0;
  let llmCalls = 0;
  const services = new Set<ServiceRole>();
  for (const span of spans) {
    const d = span.parent < 0 ? 0 : depth[span.parent]! + 1;
    depth[span.index] = d;
    maxDepth = Math.max(maxDepth, d);
    if (span.parent >= 0) children.set(span.parent, (children.get(span.parent) ?? 0) + 1);
    if (span.status === 'error') errorSpans++;
    if (isModelCall(span)) llmCalls++;
    services.add(span.service);
  }
  return {
    spans: spans.length,
    maxDepth,
    levels: maxDepth + 1,
    maxFanout: Math.max(0, ...children.values()),
    errorSpans,
    llmCalls,
    services: services.size,
  };
}

/** A span whose own tokens count (the Vercel outer `ai.generateText` span repeats its child's usage). */
export function isModelCall(span: PlanSpan): boolean {
  const op = span.attributes['gen_ai.operation.name'];
  if (span.name.endsWith('.doGenerate') || span.name.endsWith('.doStream')) return true;
  if (span.name.startsWith('ai.')) return false;
  if (op === 'chat' || op === 'text_completion' || op === 'generate_content') return true;
  return span.attributes['openinference.span.kind'] === 'LLM';
}

export function childrenOf(spans: readonly PlanSpan[], parent: PlanSpan): PlanSpan[] {
  return spans.filter((s) => s.parent === parent.index);
}
