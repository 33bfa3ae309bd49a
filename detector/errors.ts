// The class of a failed call, for the retry-storm rule: transient failures that clients retry (rate
// limits, server errors, timeouts, dropped connections) versus everything else.
import type { ErrorClass } from './settings';
import type { DetectorSpan } from './snapshot';

const RATE_LIMIT = /rate.?limit|too.?many.?requests|\b429\b|quota|throttl/i;
const TIMEOUT = /time.?out|timed.?out|deadline|\b408\b|\b504\b/i;
const CONNECTION = /connect|econnreset|econnrefused|socket|network|\bepipe\b|unreachable|dns/i;
const SERVER = /server.?error|internal.?error|overloaded|unavailable|bad.?gateway|\b5\d\d\b|apierror|serviceerror/i;

/** null when the span did not fail, or failed because the kill switch stopped it. */
export function classifyError(s: DetectorSpan): ErrorClass | null {
  if (s.status !== 'error' || s.errorType === 'killed') return null;
  const http = s.httpStatus;
  if (http === 429) return 'rate_limited';
  if (http === 408 || http === 504) return 'timeout';
  if (http !== null && http >= 500 && http <= 599) return 'server_error';
  const type = s.errorType ?? '';
  if (RATE_LIMIT.test(type)) return 'rate_limited';
  if (TIMEOUT.test(type)) return 'timeout';
  if (CONNECTION.test(type)) return 'connection';
  if (SERVER.test(type)) return 'server_error';
  // The type says nothing transient (or is missing): the message may (OpenAI's "Error code: 429 - …").
  const msg = s.statusMessage.slice(0, 500);
  if (RATE_LIMIT.test(msg)) return 'rate_limited';
  if (TIMEOUT.test(msg)) return 'timeout';
  if (SERVER.test(msg)) return 'server_error';
  if (CONNECTION.test(msg)) return 'connection';
  return 'other';
}
