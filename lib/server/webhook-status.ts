// What this process's alert webhook (detector/webhook.ts) has done since it started, for the settings page:
// counts by outcome, the last delivery and the last failure. /metrics has the counts but no times, and the
// route handlers cannot reach the metrics registry (server.ts owns it), so the sender records here too. Kept on
// globalThis for the same reason as the runtime (lib/server/runtime.ts): Next bundles route handlers apart
// from the server, and a module-level record would be a different one in each bundle. No server-only import:
// the detector runs under plain tsx as well.

import type { WebhookDeliveryStatus } from '../domain/settings-facts';

/** `failed`: given up after the last attempt, or refused for good (a 4xx); `dropped`: queue full or stopping. */
export type WebhookOutcome = 'delivered' | 'retried' | 'failed' | 'dropped';

const KEY = Symbol.for('canopy.webhook-status');
type Holder = { [KEY]?: WebhookDeliveryStatus };

/** Starts the record (once per process: the detector creates one sender). */
export function webhookSenderStarted(now = Date.now()): void {
  const holder = globalThis as Holder;
  holder[KEY] ??= { since: new Date(now).toISOString(), delivered: 0, retried: 0, failed: 0, dropped: 0, lastDeliveredAt: null, lastFailedAt: null, lastError: null };
}

/** Records one outcome; `error` for a failed or retried attempt. */
export function recordWebhookOutcome(outcome: WebhookOutcome, error?: string, now = Date.now()): void {
  const status = (globalThis as Holder)[KEY];
  if (!status) return;
  status[outcome]++;
  const at = new Date(now).toISOString();
  if (outcome === 'delivered') status.lastDeliveredAt = at;
  if (outcome === 'failed' || outcome === 'retried') {
    status.lastFailedAt = at;
    // A webhook URL carries its secret in the path (Slack's do): never let one through in an error text.
    if (error) status.lastError = error.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>').slice(0, 200);
  }
}

/** This process's record, or null when no webhook sender runs here. */
export function webhookDeliveryStatus(): WebhookDeliveryStatus | null {
  const status = (globalThis as Holder)[KEY];
  return status ? { ...status } : null;
}
