// Decoded OTLP spans → rows of the `spans` table, one convention-independent shape for every span.
import type { PriceBook } from '../../lib/server/prices';
import { createHash } from 'node:crypto';
import { CALL_CONTENT, type Attributes, type DecodedRequest, type DecodedSpan, type ResourceRow, type SpanRow } from '../types';
import { flattenAttributes, valueText } from './attributes';
import { MAX_COST_USD, MAX_NAME_CHARS, MAX_VALUE_CHARS, capText } from './limits';
import { categorise, countsUsage } from './category';
import { readErrorInfo } from './errors';
import { readAgentName, readSessionId, readToolName, readUserId } from './identity';
import { readModel, readProvider } from './model';
import { callContent, signatureOf } from './signature';
import { nanosToMillis, storageNanos } from './time';
import { readExplicitCost, readUsage } from './usage';
import { readBudget } from './budget';

export interface NormaliseContext {
  prices: PriceBook;
  retentionDays: number;
  /** Receives each distinct resource of the request, keyed by resource_id, to be stored once. */
  resources?: Map<string, ResourceRow>;
}

/** What a span inherits from its resource and scope; computed once per group, shared by its rows. */
export interface SpanOrigin {
  serviceName: string;
  resourceId: string;
  scopeName: string;
  /** canopy.budget.usd on the resource: every span of it carries the budget (the root may end last, or elsewhere). */
  budgetUsd: number | null;
}

const EXCEPTION_KEYS = ['exception.type', 'exception.message', 'exception.stacktrace'] as const;

export function normaliseRequest(req: DecodedRequest, ctx: NormaliseContext): SpanRow[] {
  const rows: SpanRow[] = [];
  for (const rs of req.resourceSpans) {
    const resource = resourceRow(rs.resource, ctx.retentionDays);
    ctx.resources?.set(resource.resource_id, resource);
    for (const scope of rs.scopes) {
      const origin: SpanOrigin = { serviceName: resource.service_name, resourceId: resource.resource_id, scopeName: capText(scope.name, MAX_NAME_CHARS), budgetUsd: readBudget(rs.resource) };
      for (const span of scope.spans) rows.push(normaliseSpan(span, origin, ctx));
    }
  }
  return rows;
}

export function spanOrigin(resource: Attributes, scopeName = ''): SpanOrigin {
  const row = resourceRow(resource, 0);
  return { serviceName: row.service_name, resourceId: row.resource_id, scopeName: capText(scopeName, MAX_NAME_CHARS), budgetUsd: readBudget(resource) };
}

/** A resource's flattened attributes and its id: a hash of them, so equal resources share one row. */
function resourceRow(resource: Attributes, retentionDays: number): ResourceRow {
  const attributes = flattenAttributes(resource);
  const canonical = JSON.stringify(Object.keys(attributes).sort().map((k) => [k, attributes[k]]));
  return {
    resource_id: createHash('sha1').update(canonical).digest('hex').slice(0, 16),
    service_name: serviceNameOf(resource),
    attributes,
    retention_days: retentionDays,
  };
}

export function normaliseSpan(span: DecodedSpan, origin: SpanOrigin, ctx: NormaliseContext): SpanRow {
  const a = span.attributes;
  const name = span.name;
  // Capped before pricing, so matching the price table never scans a megabyte model name.
  const model = capText(readModel(a), MAX_NAME_CHARS);
  const provider = capText(readProvider(a), MAX_NAME_CHARS);
  const usage = readUsage(a);
  const hasTokens = usage.input + usage.output > 0;
  const category = categorise(name, a, model, hasTokens);
  const counts = countsUsage(category);
  const toolName = readToolName(name, a, category);
  const agentName = readAgentName(name, a, category, model);
  const err = readErrorInfo(span);

  let cost: number | null = readExplicitCost(a);
  if (cost < 0) {
    cost = model !== '' && (counts === 1 || hasTokens) ? ctx.prices.price(model, provider, usage, nanosToMillis(span.startTimeUnixNano)) : null;
    if (cost !== null && !(cost <= MAX_COST_USD)) cost = null;
  }

  const content = callContent(category, a);
  const attributes = flattenAttributes(a);
  if (err.exception) {
    // Events are not stored; keep the exception's details on the row unless the span has its own.
    for (const k of EXCEPTION_KEYS) {
      const v = err.exception[k];
      if (v !== undefined && attributes[k] === undefined) attributes[k] = valueText(v);
    }
  }

  return {
    trace_id: span.traceId,
    span_id: span.spanId,
    parent_span_id: span.parentSpanId,
    service_name: origin.serviceName,
    name: capText(name, MAX_NAME_CHARS),
    kind: span.kind,
    status: err.status,
    status_message: capText(err.statusMessage, MAX_VALUE_CHARS),
    start_time: storageNanos(span.startTimeUnixNano),
    end_time: storageNanos(span.endTimeUnixNano),
    category,
    model,
    provider,
    input_tokens: usage.input,
    output_tokens: usage.output,
    cache_read_tokens: usage.cacheRead,
    cache_write_tokens: usage.cacheWrite,
    cost_usd: cost,
    counts_usage: counts,
    agent_name: capText(agentName, MAX_NAME_CHARS),
    tool_name: capText(toolName, MAX_NAME_CHARS),
    session_id: capText(readSessionId(a), MAX_NAME_CHARS),
    user_id: capText(readUserId(a), MAX_NAME_CHARS),
    call_signature: signatureOf(category, content, model, name, toolName, agentName),
    error_type: capText(err.errorType, MAX_NAME_CHARS),
    attributes,
    resource_id: origin.resourceId,
    scope_name: origin.scopeName,
    retention_days: ctx.retentionDays,
    budget_usd: readBudget(a) ?? origin.budgetUsd,
    [CALL_CONTENT]: content !== '',
  };
}

function serviceNameOf(resource: Attributes): string {
  const v = resource['service.name'];
  const s = typeof v === 'string' ? v : v === undefined || v === null ? '' : valueText(v);
  return s === '' ? 'unknown_service' : capText(s, MAX_NAME_CHARS);
}
