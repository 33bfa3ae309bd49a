// Who is acting: agent and tool names, conversation/session and end user.
import type { Attributes, SpanCategory } from '../types';
import { firstString } from './attributes';

const AGENT_KEYS = ['gen_ai.agent.name', 'agent.name'] as const;
const TOOL_KEYS = ['gen_ai.tool.name', 'tool.name', 'ai.toolCall.name'] as const;
const SESSION_KEYS = [
  'gen_ai.conversation.id',
  'session.id',
  'ai.telemetry.metadata.sessionId',
  'traceloop.association.properties.session_id',
] as const;
const USER_KEYS = ['user.id', 'enduser.id', 'ai.telemetry.metadata.userId', 'traceloop.association.properties.user_id'] as const;

export function readAgentName(name: string, a: Attributes, category: SpanCategory, model: string): string {
  const explicit = firstString(a, AGENT_KEYS);
  if (explicit) return explicit;
  const traceloop = traceloopEntity(a, 'agent');
  if (traceloop) return traceloop;
  if (category !== 'agent') return '';
  // OTel names agent spans "invoke_agent {name}"; the Vercel AI SDK puts the model id there instead.
  const n = stripPrefix(stripPrefix(name, 'invoke_agent'), 'create_agent');
  return n === model ? '' : n;
}

export function readToolName(name: string, a: Attributes, category: SpanCategory): string {
  const explicit = firstString(a, TOOL_KEYS);
  if (explicit) return explicit;
  const traceloop = traceloopEntity(a, 'tool');
  if (traceloop) return traceloop;
  return category === 'tool' ? stripPrefix(name, 'execute_tool') : '';
}

export function readSessionId(a: Attributes): string {
  return firstString(a, SESSION_KEYS);
}

export function readUserId(a: Attributes): string {
  return firstString(a, USER_KEYS);
}

function traceloopEntity(a: Attributes, kind: string): string {
  if (a['traceloop.span.kind'] !== kind) return '';
  const v = a['traceloop.entity.name'];
  return typeof v === 'string' ? v : '';
}

function stripPrefix(name: string, prefix: string): string {
  if (name === prefix) return '';
  return name.startsWith(prefix) && name.charCodeAt(prefix.length) === 32 ? name.slice(prefix.length + 1) : name;
}
