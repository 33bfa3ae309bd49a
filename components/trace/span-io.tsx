'use client';

import { useMemo, useState } from 'react';
import type { SpanView } from '@/lib/domain';
import { formatInt } from '../format';
import { ioPreview, type Message } from './io-preview';

const LONG_TEXT = 1500;

/** Text that may be long (a prompt, a stack trace): clipped, with a button to show it all. Always text, never HTML. */
export function LongText({ text, className = 'attr-value' }: { text: string; className?: string }) {
  const [expanded, setExpanded] = useState(false);
  const long = text.length > LONG_TEXT;
  return (
    <>
      <pre className={className}>{long && !expanded ? `${text.slice(0, LONG_TEXT)}…` : text}</pre>
      {long && (
        <button type="button" className="link-button" onClick={() => setExpanded((e) => !e)}>
          {expanded ? 'Show less' : `Show all (${formatInt(text.length)} chars)`}
        </button>
      )}
    </>
  );
}

function Messages({ messages }: { messages: Message[] }) {
  return (
    <div className="io-messages">
      {messages.map((m, i) => (
        <div key={i} className="io-message">
          {m.role && <span className="io-role">{m.role}</span>}
          <LongText text={m.text} className="io-text" />
        </div>
      ))}
    </div>
  );
}

/** The prompt and completion of a model call, or the arguments and result of a tool call, as text. */
export function SpanIo({ span }: { span: SpanView }) {
  const io = useMemo(() => ioPreview(span.attributes ?? {}), [span.attributes]);
  if (!io.input && !io.output) return null;
  const tool = span.category === 'tool';
  return (
    <section data-testid="span-io">
      <h3>{tool ? 'Arguments and result' : 'Input and output'}</h3>
      {io.input && (
        <>
          <h4>{tool ? 'Arguments' : 'Input'}</h4>
          <Messages messages={io.input} />
        </>
      )}
      {io.output && (
        <>
          <h4>{tool ? 'Result' : 'Output'}</h4>
          <Messages messages={io.output} />
        </>
      )}
    </section>
  );
}

/** The error: status message, error class, and the exception event's type, message and stack trace. */
export function SpanError({ span }: { span: SpanView }) {
  const a = span.attributes ?? {};
  const type = a['exception.type'];
  const message = a['exception.message'];
  const stack = a['exception.stacktrace'];
  if (span.status !== 'error' && !span.errorType && !type && !message) return null;
  return (
    <section className="span-error" data-testid="span-error">
      <h3>Error</h3>
      <dl className="kv">
        {span.statusMessage && (
          <>
            <dt>Status message</dt>
            <dd className="status-message">{span.statusMessage}</dd>
          </>
        )}
        {span.errorType && (
          <>
            <dt>Error class</dt>
            <dd>{span.errorType}</dd>
          </>
        )}
        {type && (
          <>
            <dt>Exception</dt>
            <dd className="mono">{type}</dd>
          </>
        )}
        {message && (
          <>
            <dt>Message</dt>
            <dd>{message}</dd>
          </>
        )}
      </dl>
      {stack && (
        <details className="stack">
          <summary>Stack trace</summary>
          <LongText text={stack} />
        </details>
      )}
    </section>
  );
}
