// A short stable hash of "what was called with what", for the loop rules: the same signature repeating
// under one parent means an agent is redoing the same call.
import { hash } from 'node:crypto';
import type { AttrValue, Attributes, SpanCategory } from '../types';

const TOOL_ARG_KEYS = ['gen_ai.tool.call.arguments', 'ai.toolCall.args', 'input.value'] as const;

/** Whole-value sources of a model call's input, in order of preference. */
const INPUT_KEYS = ['gen_ai.input.messages', 'gen_ai.prompt', 'ai.prompt.messages', 'ai.prompt', 'ai.values', 'ai.value', 'input.value'] as const;

/** Conventions that spread the input over indexed attributes: llm.input_messages.0.message.content, ... */
const INPUT_PREFIXES = ['llm.input_messages.', 'gen_ai.prompt.'] as const;

/** Keys whose values differ on every call of the same thing, so they must not split signatures. */
const VOLATILE_KEYS = new Set([
  'timestamp',
  'time',
  'ts',
  'request_id',
  'requestId',
  'call_id',
  'callId',
  'tool_call_id',
  'toolCallId',
  'trace_id',
  'traceId',
  'span_id',
  'spanId',
  'nonce',
  'idempotency_key',
  'idempotencyKey',
  'created_at',
  'createdAt',
]);

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const PREFIXED_ID_RE = /^[a-z]+[_-][A-Za-z0-9]{12,}$/; // call_..., req_..., toolu_01...

export function callSignature(
  category: SpanCategory,
  a: Attributes,
  model: string,
  name: string,
  toolName: string,
  agentName: string,
): string {
  return signatureOf(category, callContent(category, a), model, name, toolName, agentName);
}

/**
 * What a tool or model call was called with, as the signature hashes it: the canonical arguments, or the
 * recorded input; '' when the call recorded none (and for spans that are not such calls).
 */
export function callContent(category: SpanCategory, a: Attributes): string {
  switch (category) {
    case 'tool': {
      const args = firstPresent(a, TOOL_ARG_KEYS);
      return args === undefined ? '' : canonicalArgs(args);
    }
    case 'llm':
    case 'embedding':
      return inputText(a);
    default:
      return '';
  }
}

/** The signature of a call with this content (`callContent`): with none, the tool's or model's name alone. */
export function signatureOf(category: SpanCategory, content: string, model: string, name: string, toolName: string, agentName: string): string {
  switch (category) {
    case 'tool':
      return digest(`tool\0${toolName || name}\0${content}`);
    case 'llm':
    case 'embedding':
      return digest(content === '' ? `model\0${model}\0name\0${name}` : `model\0${model}\0${content}`);
    case 'agent':
      return agentName ? digest(`agent\0${agentName}`) : '';
    default:
      return '';
  }
}

// One-shot hash: a third of the cost of createHash().update().digest() for short inputs.
function digest(s: string): string {
  return hash('sha1', s, 'hex').slice(0, 16);
}

/** The call's recorded input as one string, '' when the span recorded none. */
function inputText(a: Attributes): string {
  const system = a['gen_ai.system_instructions'];
  let s = system === undefined ? '' : `${text(system)}\0`;
  const whole = firstPresent(a, INPUT_KEYS);
  if (whole !== undefined) return s + text(whole);
  for (const key in a) {
    for (let i = 0; i < INPUT_PREFIXES.length; i++) {
      if (key.startsWith(INPUT_PREFIXES[i])) s += `${key}=${text(a[key])}\0`;
    }
  }
  return s;
}

function firstPresent(a: Attributes, keys: readonly string[]): AttrValue | undefined {
  for (let i = 0; i < keys.length; i++) {
    const v = a[keys[i]];
    if (v !== undefined && v !== null && v !== '') return v;
  }
  return undefined;
}

function text(v: AttrValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * Tool arguments in a canonical form: JSON is re-serialised with sorted keys and without volatile
 * keys, so {"q":"x","request_id":"a1"} and {"request_id":"b2","q":"x"} are the same call.
 */
function canonicalArgs(args: AttrValue): string {
  let value: unknown = args;
  if (typeof args === 'string') {
    const c = args.trimStart().charCodeAt(0);
    if (c !== 123 && c !== 91) return args; // not a JSON object or array
    try {
      value = JSON.parse(args);
    } catch {
      return args;
    }
  }
  try {
    return canonical(value);
  } catch {
    return text(args); // nesting too deep to walk: the raw form still identifies the call
  }
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + canonical(v[i]);
    return s + ']';
  }
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).sort();
    let s = '{';
    let first = true;
    for (const k of keys) {
      if (VOLATILE_KEYS.has(k) || (k === 'id' && looksGenerated(o[k]))) continue;
      s += (first ? '' : ',') + JSON.stringify(k) + ':' + canonical(o[k]);
      first = false;
    }
    return s + '}';
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * `id` is volatile only when it looks minted per call (a UUID, "call_abc123…"). A business id such as
 * get_order({id: 42}) is the argument itself: dropping it would make different orders look like a loop.
 */
function looksGenerated(v: unknown): boolean {
  return typeof v === 'string' && (UUID_RE.test(v) || PREFIXED_ID_RE.test(v));
}
