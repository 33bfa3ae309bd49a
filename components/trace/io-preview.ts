// A span's input and output as a person reads them: the prompt and the completion of a model call, the
// arguments and the result of a tool call, taken from whichever convention's attributes the span carries
// (OTel GenAI old and new, OpenLLMetry, OpenInference, the Vercel AI SDK). Text only: rendered as text, never HTML.

export interface Message {
  role: string;
  text: string;
}

export interface IoPreview {
  input: Message[] | null;
  output: Message[] | null;
}

const INPUT_KEYS = ['gen_ai.input.messages', 'gen_ai.prompt', 'ai.prompt.messages', 'ai.prompt', 'gen_ai.tool.call.arguments', 'ai.toolCall.args', 'input.value'];
const OUTPUT_KEYS = ['gen_ai.output.messages', 'gen_ai.completion', 'ai.response.text', 'ai.toolCall.result', 'gen_ai.tool.call.result', 'output.value'];
/** Conventions that spread messages over indexed attributes: `<prefix><n>.<field>`. */
const INDEXED_INPUT = [
  { prefix: 'gen_ai.prompt.', role: 'role', text: 'content' },
  { prefix: 'llm.input_messages.', role: 'message.role', text: 'message.content' },
];
const INDEXED_OUTPUT = [
  { prefix: 'gen_ai.completion.', role: 'role', text: 'content' },
  { prefix: 'llm.output_messages.', role: 'message.role', text: 'message.content' },
];

export function ioPreview(attributes: Record<string, string>): IoPreview {
  const system = attributes['gen_ai.system_instructions'];
  const input = whole(attributes, INPUT_KEYS) ?? indexed(attributes, INDEXED_INPUT);
  const output = whole(attributes, OUTPUT_KEYS) ?? indexed(attributes, INDEXED_OUTPUT);
  return { input: system ? [{ role: 'system', text: textOf(parse(system)) }, ...(input ?? [])] : input, output };
}

function whole(a: Record<string, string>, keys: readonly string[]): Message[] | null {
  for (const k of keys) {
    const v = a[k];
    if (v !== undefined && v !== '') return messages(parse(v));
  }
  return null;
}

function indexed(a: Record<string, string>, shapes: typeof INDEXED_INPUT): Message[] | null {
  for (const { prefix, role, text } of shapes) {
    const found = new Map<number, Message>();
    for (const [key, value] of Object.entries(a)) {
      if (!key.startsWith(prefix)) continue;
      const rest = key.slice(prefix.length);
      const dot = rest.indexOf('.');
      const n = Number(rest.slice(0, dot));
      if (dot < 0 || !Number.isInteger(n)) continue;
      const field = rest.slice(dot + 1);
      const m = found.get(n) ?? { role: '', text: '' };
      if (field === role) m.role = value;
      else if (field === text) m.text = value;
      else continue;
      found.set(n, m);
    }
    if (found.size) return [...found.entries()].sort(([x], [y]) => x - y).map(([, m]) => m);
  }
  return null;
}

function parse(v: string): unknown {
  const t = v.trimStart();
  if (!(t.startsWith('{') || t.startsWith('[') || t.startsWith('"'))) return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** Messages in any of the usual shapes: a list of {role, content | parts}, {messages: [...]}, or one value. */
function messages(v: unknown): Message[] {
  if (Array.isArray(v)) {
    if (v.every((m) => m && typeof m === 'object' && ('role' in m || 'content' in m || 'parts' in m))) {
      return v.map((m: Record<string, unknown>) => ({ role: typeof m.role === 'string' ? m.role : '', text: textOf(m.parts ?? m.content ?? m.text ?? '') }));
    }
    return [{ role: '', text: textOf(v) }];
  }
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.messages)) return messages(o.messages);
    if ('role' in o || 'content' in o) return messages([o]);
  }
  return [{ role: '', text: textOf(v) }];
}

/** The text of a message's content: strings as they are, text parts joined, anything else as JSON. */
function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map((p) => partText(p)).join('\n');
  return JSON.stringify(v, null, 2) ?? '';
}

function partText(p: unknown): string {
  if (typeof p === 'string') return p;
  if (p && typeof p === 'object') {
    const o = p as Record<string, unknown>;
    if (typeof o.content === 'string') return o.content;
    if (typeof o.text === 'string') return o.text;
    if (o.type === 'tool_call' || o.type === 'tool-call') return `→ ${String(o.name ?? o.toolName ?? 'tool')}(${JSON.stringify(o.arguments ?? o.args ?? {})})`;
    if (o.type === 'tool_call_response') return textOf(o.response ?? o.result ?? '');
  }
  return JSON.stringify(p);
}
