// Whether a span failed, and how.
import type { DecodedSpan, SpanRow } from '../types';

export interface ErrorInfo {
  status: SpanRow['status'];
  statusMessage: string;
  errorType: string;
  /** The first `exception` event's attributes, if any: kept on the row since events are not stored. */
  exception: DecodedSpan['events'][number]['attributes'] | null;
}

/**
 * Status code 2 is an error. With the status unset, `error.type` also marks one (semconv: it is set
 * only when the operation failed) unless an HTTP status below 400 says otherwise.
 */
export function readErrorInfo(span: DecodedSpan): ErrorInfo {
  const a = span.attributes;
  const errorTypeAttr = a['error.type'];
  let errorType = typeof errorTypeAttr === 'string' ? errorTypeAttr : '';
  let status: SpanRow['status'] = span.statusCode === 2 ? 'error' : span.statusCode === 1 ? 'ok' : 'unset';
  if (status === 'unset' && errorType !== '') {
    const http = httpStatus(a['http.response.status_code'] ?? a['http.status_code']);
    if (http === -1 || http >= 400) status = 'error';
  }
  let statusMessage = span.statusMessage;
  let exception: ErrorInfo['exception'] = null;
  for (let i = 0; i < span.events.length; i++) {
    if (span.events[i].name === 'exception') {
      exception = span.events[i].attributes;
      break;
    }
  }
  if (exception) {
    const t = exception['exception.type'];
    const m = exception['exception.message'];
    if (errorType === '' && typeof t === 'string') errorType = t;
    if (statusMessage === '' && typeof m === 'string') statusMessage = m;
  }
  return { status, statusMessage, errorType, exception };
}

function httpStatus(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : -1;
  }
  return -1;
}
