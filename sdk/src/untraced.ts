// Canopy's own traffic (reports, the event stream, control questions) must not show up in the app's traces: an
// instrumented HTTP client would otherwise add a span per request to whatever trace is active, and one that never
// ends for the event stream.
import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';

/** @opentelemetry/core's suppressTracing key: context keys are registered symbols, so this is the same key. */
const SUPPRESS_TRACING = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

/**
 * Runs `fn` where instrumentations record nothing, outside the caller's context: the event stream's sockets and
 * timers live as long as the process and must not keep the span that happened to open them.
 */
export function untraced<T>(fn: () => T): T {
  return context.with(ROOT_CONTEXT.setValue(SUPPRESS_TRACING, true), fn);
}
