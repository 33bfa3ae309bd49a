// Alert delivery: one JSON POST per new or escalated alert to CANOPY_WEBHOOK_URL. The detector's tick calls
// deliver() and moves on; retries, backoff and the receiver's slowness all happen here, off the tick's path.
import { createHmac } from 'node:crypto';
import type { Alert, AlertChange } from '../lib/domain';
import type { Metrics } from '../lib/server/metrics';
import { recordWebhookOutcome, webhookSenderStarted } from '../lib/server/webhook-status';

export type { AlertChange };

export interface WebhookOptions {
  url: string;
  secret?: string;
  publicUrl: string;
  maxAttempts?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
  maxPending?: number;
}

// A few at once: enough that one slow delivery does not hold up the next alert, few enough not to flood a
// receiver (Slack allows about one message a second per webhook).
const CONCURRENCY = 4;
const MAX_BACKOFF_MS = 30_000;
// A receiver asking for longer than this would hold a delivery slot for ages; alerts are worth less late.
const MAX_RETRY_AFTER_MS = 60_000;

export function alertLink(publicUrl: string, alert: Pick<Alert, 'traceId' | 'spanId'>): string {
  return `${publicUrl.replace(/\/+$/, '')}/traces/${encodeURIComponent(alert.traceId)}?span=${encodeURIComponent(alert.spanId)}`;
}

// Slack reads & < > as markup: a tool or agent name such as "<!channel>" must not ping a whole channel.
function mrkdwnEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function webhookPayload(alert: Alert, change: AlertChange, publicUrl: string): string {
  const url = alertLink(publicUrl, alert);
  const icon = alert.severity === 'critical' ? ':rotating_light:' : ':warning:';
  const head = change === 'escalated' ? `${alert.rule} escalated to ${alert.severity}` : `[${alert.severity}] ${alert.rule}`;
  // 8 hex digits: short, and the trace list's search finds the trace by them.
  const text = `${icon} ${head} — ${mrkdwnEscape(alert.title)} (trace ${alert.traceId.slice(0, 8)}…, <${url}|open the tree>)`;
  return JSON.stringify({ text, change, alert, url });
}

export function signature(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

interface Job {
  alertId: string;
  body: string;
  queuedAt: number;
  resolve: (delivered: boolean) => void;
}

type Attempt = { status: number; retryAfterMs?: number } | { error: string };

export class WebhookSender {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly timeoutMs: number;
  private readonly maxPending: number;
  private readonly queue: Job[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly opts: WebhookOptions,
    private readonly deps: { metrics: Metrics; log: (event: Record<string, unknown>) => void },
  ) {
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 8);
    this.baseDelayMs = Math.max(0, opts.baseDelayMs ?? 500);
    this.timeoutMs = Math.max(1, opts.timeoutMs ?? 5000);
    this.maxPending = Math.max(0, opts.maxPending ?? 1000);
    webhookSenderStarted(); // the settings page shows what this sender did (lib/server/webhook-status.ts)
  }

  deliver(alert: Alert, change: AlertChange): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const job: Job = { alertId: alert.id, body: '', queuedAt: performance.now(), resolve };
      if (this.stopping.signal.aborted) return this.drop(job, 'stopped');
      try {
        // Serialised now: the caller updates its alert in place, and every retry must send the same bytes.
        job.body = webhookPayload(alert, change, this.opts.publicUrl);
      } catch (err) {
        return this.giveUp(job, 0, describe(err));
      }
      this.queue.push(job);
      this.pump(); // first, so a free slot takes the job before the bound counts it
      if (this.queue.length > this.maxPending) this.drop(this.queue.shift()!, 'queue_full');
    });
  }

  async stop(): Promise<void> {
    if (!this.stopping.signal.aborted) {
      this.stopping.abort();
      for (const job of this.queue.splice(0)) this.drop(job, 'stopped');
    }
    await Promise.all(this.running);
  }

  private pump(): void {
    while (this.running.size < CONCURRENCY && this.queue.length > 0) {
      const job = this.queue.shift()!;
      const run: Promise<void> = this.run(job)
        .catch((err) => this.giveUp(job, 0, describe(err)))
        .finally(() => {
          this.running.delete(run);
          this.pump();
        });
      this.running.add(run);
    }
  }

  private async run(job: Job): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const res = await this.post(job.body);
      if ('status' in res && res.status >= 200 && res.status < 300) {
        this.deps.metrics.webhookDeliveries.inc({ outcome: 'delivered' });
        recordWebhookOutcome('delivered');
        this.deps.metrics.webhookDeliverySeconds.observe((performance.now() - job.queuedAt) / 1000);
        return job.resolve(true);
      }
      if (this.stopping.signal.aborted) return this.drop(job, 'stopped');
      this.log({ event: 'webhook_failed', alertId: job.alertId, attempt, ...res });
      if (!retryable(res) || attempt >= this.maxAttempts) return this.giveUp(job, attempt, 'status' in res ? `HTTP ${res.status}` : res.error);
      this.deps.metrics.webhookDeliveries.inc({ outcome: 'retried' });
      recordWebhookOutcome('retried', 'status' in res ? `HTTP ${res.status}` : res.error);
      const cap = Math.min(MAX_BACKOFF_MS, this.baseDelayMs * 2 ** (attempt - 1));
      // Half fixed, half random: waits still grow, but alerts that failed together do not retry in lockstep.
      const backoff = cap / 2 + (Math.random() * cap) / 2;
      await this.sleep(Math.max(backoff, 'retryAfterMs' in res ? Math.min(res.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS) : 0));
      if (this.stopping.signal.aborted) return this.drop(job, 'stopped');
    }
  }

  private async post(body: string): Promise<Attempt> {
    // One controller per attempt, aborted by its timeout or by stop(): no listeners pile up on a long-lived signal.
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, this.timeoutMs);
    const onStop = () => ac.abort();
    this.stopping.signal.addEventListener('abort', onStop, { once: true });
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'Canopy-Webhook' };
      if (this.opts.secret) headers['x-canopy-signature'] = signature(body, this.opts.secret);
      // Redirects are not followed: a 301/302 would turn the POST into a body-less GET and "succeed".
      const res = await fetch(this.opts.url, { method: 'POST', headers, body, redirect: 'manual', signal: ac.signal });
      // The body is not needed; cancelling it frees the connection rather than leaving it to the GC.
      await res.body?.cancel().catch(() => {});
      const retryAfterMs = res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers.get('retry-after')) : undefined;
      return retryAfterMs === undefined ? { status: res.status } : { status: res.status, retryAfterMs };
    } catch (err) {
      return { error: timedOut ? `timeout after ${this.timeoutMs} ms` : describe(err) };
    } finally {
      clearTimeout(timer);
      this.stopping.signal.removeEventListener('abort', onStop);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.stopping.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stopping.signal.addEventListener('abort', done, { once: true });
    });
  }

  private giveUp(job: Job, attempts: number, reason: string): void {
    this.deps.metrics.webhookDeliveries.inc({ outcome: 'failed' });
    recordWebhookOutcome('failed', reason);
    this.log({ event: 'webhook_gave_up', alertId: job.alertId, attempts, reason });
    job.resolve(false);
  }

  private drop(job: Job, reason: 'queue_full' | 'stopped'): void {
    this.deps.metrics.webhookDeliveries.inc({ outcome: 'dropped' });
    recordWebhookOutcome('dropped');
    this.log({ event: 'webhook_dropped', alertId: job.alertId, reason });
    job.resolve(false);
  }

  // A throwing logger must not become an unhandled rejection in a detached delivery (that ends the process).
  private log(event: Record<string, unknown>): void {
    try {
      this.deps.log(event);
    } catch {
      /* nothing better to do */
    }
  }
}

function retryable(res: Attempt): boolean {
  if (!('status' in res)) return true;
  return res.status === 408 || res.status === 429 || res.status >= 500;
}

function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

// fetch reports every network failure as "fetch failed"; the cause says which (ECONNREFUSED, ENOTFOUND, ...).
function describe(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
