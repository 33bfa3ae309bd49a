import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Alert } from '../../lib/domain';
import { createMetrics, type Metrics } from '../../lib/server/metrics';
import { loadConfig } from '../../lib/server/config';
import { WebhookSender, alertLink, signature, webhookPayload, type WebhookOptions } from '../../detector/webhook';

// Alert delivery against a real local HTTP receiver: real sockets, real fetch, nothing mocked.

const alert: Alert = {
  id: 'alert-1',
  autoKill: null,
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  rule: 'loop',
  severity: 'critical',
  title: 'run_tests called 12× with identical arguments under CodingAgent',
  status: 'open',
  firstSeen: '2025-01-01T00:00:00.000Z',
  lastSeen: '2025-01-01T00:00:05.000Z',
  evidence: {
    spanIds: ['00f067aa0ba902b8'],
    spanCount: 12,
    metric: 'identical calls in a row',
    value: 12,
    warningAt: 3,
    criticalAt: 10,
    names: ['run_tests'],
    baseline: null,
    details: {},
  },
};
const PUBLIC = 'http://canopy.example:3000';

interface Received {
  raw: Buffer;
  headers: http.IncomingHttpHeaders;
  at: number;
}
type Handler = (res: http.ServerResponse, n: number) => void;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A receiver on 127.0.0.1 that records every request's raw bytes and answers via `handler` (or never). */
async function receiver(handler: Handler) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ raw: Buffer.concat(chunks), headers: req.headers, at: performance.now() });
      handler(res, received.length);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

const answer = (status: number, headers: Record<string, string> = {}) => (res: http.ServerResponse) => res.writeHead(status, headers).end('{}');

function sender(opts: Partial<WebhookOptions> & { url: string }) {
  const metrics = createMetrics();
  const logs: Record<string, unknown>[] = [];
  const s = new WebhookSender({ publicUrl: PUBLIC, baseDelayMs: 10, timeoutMs: 2000, ...opts }, { metrics, log: (e) => logs.push(e) });
  cleanups.push(() => s.stop());
  return { s, metrics, logs };
}

async function outcomes(metrics: Metrics) {
  const values = (await metrics.webhookDeliveries.get()).values;
  const n = (outcome: string) => values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
  return { delivered: n('delivered'), retried: n('retried'), failed: n('failed'), dropped: n('dropped') };
}

const settled = (p: Promise<unknown>) => Promise.race([p.then(() => true), new Promise((r) => setTimeout(() => r(false), 20))]);

describe('webhook payload', () => {
  it('links to the tree in the UI, without a double slash', () => {
    const link = `${PUBLIC}/traces/${alert.traceId}?span=${alert.spanId}`;
    expect(alertLink(PUBLIC, alert)).toBe(link);
    expect(alertLink(`${PUBLIC}/`, alert)).toBe(link);
  });

  it('is { text, change, alert, url } with a Slack-compatible text holding the link', () => {
    const body = JSON.parse(webhookPayload(alert, 'new', PUBLIC));
    expect(Object.keys(body)).toEqual(['text', 'change', 'alert', 'url']);
    expect(body.alert).toEqual(alert);
    expect(body.change).toBe('new');
    expect(body.url).toBe(alertLink(PUBLIC, alert));
    expect(body.text).toBe(
      `:rotating_light: [critical] loop — ${alert.title} (trace 4bf92f35…, <${body.url}|open the tree>)`,
    );
    expect(JSON.parse(webhookPayload(alert, 'escalated', PUBLIC)).text).toMatch(/^:rotating_light: loop escalated to critical — run_tests/);
    expect(JSON.parse(webhookPayload({ ...alert, severity: 'warning' }, 'new', PUBLIC)).text).toMatch(/^:warning: \[warning\] loop — /);
  });

  it('escapes Slack markup in names taken from spans', () => {
    const text = JSON.parse(webhookPayload({ ...alert, title: 'a <!channel> & <http://x|y> tool' }, 'new', PUBLIC)).text as string;
    expect(text).toContain('a &lt;!channel&gt; &amp; &lt;http://x|y&gt; tool');
    expect(text.match(/</g)).toHaveLength(1); // only the link's own
  });
});

describe('webhook delivery', () => {
  it('POSTs the exact payload, signed over the raw bytes when a secret is set', async () => {
    const r = await receiver(answer(200));
    const { s, metrics } = sender({ url: r.url, secret: 's3cret' });
    expect(await s.deliver(alert, 'new')).toBe(true);
    expect(r.received).toHaveLength(1);
    const [{ raw, headers }] = r.received;
    expect(raw.toString('utf8')).toBe(webhookPayload(alert, 'new', PUBLIC));
    expect(headers['content-type']).toBe('application/json');
    expect(headers['x-canopy-signature']).toBe(`sha256=${createHmac('sha256', 's3cret').update(raw).digest('hex')}`);
    expect(headers['x-canopy-signature']).toBe(signature(raw.toString('utf8'), 's3cret'));
    const body = JSON.parse(raw.toString('utf8'));
    expect(body.text).toContain(`<${alertLink(PUBLIC, alert)}|open the tree>`);
    expect(body.alert).toEqual(alert);
    expect(await outcomes(metrics)).toEqual({ delivered: 1, retried: 0, failed: 0, dropped: 0 });
    const seconds = (await metrics.webhookDeliverySeconds.get()).values.find((v) => v.metricName === 'canopy_webhook_delivery_seconds_count');
    expect(seconds?.value).toBe(1);
  });

  it('sends no signature without a secret', async () => {
    const r = await receiver(answer(204));
    const { s } = sender({ url: r.url });
    expect(await s.deliver(alert, 'escalated')).toBe(true);
    expect(r.received[0].headers['x-canopy-signature']).toBeUndefined();
    expect(JSON.parse(r.received[0].raw.toString()).change).toBe('escalated');
  });

  it('retries a 500 with the same body, then delivers', async () => {
    const r = await receiver((res, n) => answer(n <= 2 ? 500 : 200)(res));
    const { s, metrics, logs } = sender({ url: r.url, secret: 'k' });
    expect(await s.deliver(alert, 'new')).toBe(true);
    expect(r.received).toHaveLength(3);
    expect(new Set(r.received.map((q) => q.raw.toString()))).toEqual(new Set([webhookPayload(alert, 'new', PUBLIC)]));
    expect(new Set(r.received.map((q) => q.headers['x-canopy-signature'])).size).toBe(1);
    expect(await outcomes(metrics)).toEqual({ delivered: 1, retried: 2, failed: 0, dropped: 0 });
    expect(logs).toEqual([
      { event: 'webhook_failed', alertId: alert.id, attempt: 1, status: 500 },
      { event: 'webhook_failed', alertId: alert.id, attempt: 2, status: 500 },
    ]);
  });

  it('does not retry a 400', async () => {
    const r = await receiver(answer(400));
    const { s, metrics, logs } = sender({ url: r.url });
    expect(await s.deliver(alert, 'new')).toBe(false);
    await new Promise((res) => setTimeout(res, 100)); // room for a wrong retry to show up
    expect(r.received).toHaveLength(1);
    expect(await outcomes(metrics)).toEqual({ delivered: 0, retried: 0, failed: 1, dropped: 0 });
    expect(logs.map((l) => l.event)).toEqual(['webhook_failed', 'webhook_gave_up']);
  });

  it('honours Retry-After on 429', async () => {
    const r = await receiver((res, n) => answer(n === 1 ? 429 : 200, { 'retry-after': '1' })(res));
    const { s, metrics } = sender({ url: r.url });
    expect(await s.deliver(alert, 'new')).toBe(true);
    expect(r.received[1].at - r.received[0].at).toBeGreaterThanOrEqual(950);
    expect(await outcomes(metrics)).toMatchObject({ delivered: 1, retried: 1 });
  });

  it('times out a receiver that never answers and retries', async () => {
    const r = await receiver((res, n) => (n === 1 ? undefined : answer(200)(res)));
    const { s, metrics, logs } = sender({ url: r.url, timeoutMs: 200 });
    const t0 = performance.now();
    expect(await s.deliver(alert, 'new')).toBe(true);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(200);
    expect(r.received).toHaveLength(2);
    expect(logs).toEqual([{ event: 'webhook_failed', alertId: alert.id, attempt: 1, error: 'timeout after 200 ms' }]);
    expect(await outcomes(metrics)).toMatchObject({ delivered: 1, retried: 1 });
  });

  it('gives up on an unreachable receiver after maxAttempts, logging each failure', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const { s, metrics, logs } = sender({ url: `http://127.0.0.1:${port}/hook`, maxAttempts: 3 });
    expect(await s.deliver(alert, 'new')).toBe(false);
    expect(logs).toEqual([
      { event: 'webhook_failed', alertId: alert.id, attempt: 1, error: 'ECONNREFUSED' },
      { event: 'webhook_failed', alertId: alert.id, attempt: 2, error: 'ECONNREFUSED' },
      { event: 'webhook_failed', alertId: alert.id, attempt: 3, error: 'ECONNREFUSED' },
      { event: 'webhook_gave_up', alertId: alert.id, attempts: 3, reason: 'ECONNREFUSED' },
    ]);
    expect(await outcomes(metrics)).toEqual({ delivered: 0, retried: 2, failed: 1, dropped: 0 });
  });

  it('never blocks the caller, and bounds the queue by dropping the oldest', async () => {
    const r = await receiver(() => {}); // hangs
    const { s, metrics, logs } = sender({ url: r.url, timeoutMs: 10_000, maxPending: 2 });
    const t0 = performance.now();
    const results = Array.from({ length: 7 }, (_, i) => s.deliver({ ...alert, id: `a${i}` }, 'new'));
    expect(performance.now() - t0).toBeLessThan(50);
    // 4 in flight, 3 queued past a bound of 2: the oldest queued (a4) is dropped at once.
    expect(await results[4]).toBe(false);
    expect(logs).toEqual([{ event: 'webhook_dropped', alertId: 'a4', reason: 'queue_full' }]);
    for (const i of [0, 1, 2, 3, 5, 6]) expect(await settled(results[i])).toBe(false);
    expect(await outcomes(metrics)).toMatchObject({ dropped: 1 });
  });

  it('stop() aborts in-flight requests and resolves every pending delivery false', async () => {
    const r = await receiver(() => {}); // hangs
    const { s, metrics } = sender({ url: r.url, timeoutMs: 10_000 });
    const results = Array.from({ length: 6 }, (_, i) => s.deliver({ ...alert, id: `a${i}` }, 'new'));
    while (r.received.length < 4) await new Promise((res) => setTimeout(res, 10));
    const t0 = performance.now();
    await s.stop();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await Promise.all(results)).toEqual([false, false, false, false, false, false]);
    expect(await s.deliver(alert, 'new')).toBe(false);
    expect(r.received).toHaveLength(4);
    expect(await outcomes(metrics)).toEqual({ delivered: 0, retried: 0, failed: 0, dropped: 7 });
  });

  it('stop() also cuts a backoff wait short', async () => {
    const r = await receiver(answer(503));
    const { s } = sender({ url: r.url, baseDelayMs: 20_000 });
    const result = s.deliver(alert, 'new');
    while (r.received.length < 1) await new Promise((res) => setTimeout(res, 10));
    const t0 = performance.now();
    await s.stop();
    expect(await result).toBe(false);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('webhook and detector configuration', () => {
  it('defaults: detector on at 1 s, no webhook', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ detector: true, detectorTickMs: 1000, webhookUrl: undefined, webhookSecret: undefined, publicUrl: undefined });
  });

  it('reads every variable, and refuses a non-http webhook URL or a tick out of range', () => {
    const c = loadConfig({
      CANOPY_WEBHOOK_URL: 'https://hooks.example/x',
      CANOPY_WEBHOOK_SECRET: 'k',
      CANOPY_PUBLIC_URL: 'https://canopy.example',
      CANOPY_DETECTOR: 'off',
      CANOPY_DETECTOR_TICK_MS: '250',
    });
    expect(c).toMatchObject({ webhookUrl: 'https://hooks.example/x', webhookSecret: 'k', publicUrl: 'https://canopy.example', detector: false, detectorTickMs: 250 });
    expect(() => loadConfig({ CANOPY_WEBHOOK_URL: 'ftp://hooks.example/x' })).toThrow(/CANOPY_WEBHOOK_URL/);
    expect(() => loadConfig({ CANOPY_WEBHOOK_URL: 'not a url' })).toThrow(/CANOPY_WEBHOOK_URL/);
    expect(() => loadConfig({ CANOPY_PUBLIC_URL: 'file:///tmp' })).toThrow(/CANOPY_PUBLIC_URL/);
    expect(() => loadConfig({ CANOPY_DETECTOR_TICK_MS: '50' })).toThrow(/CANOPY_DETECTOR_TICK_MS/);
    expect(() => loadConfig({ CANOPY_DETECTOR: 'yes' })).toThrow(/CANOPY_DETECTOR/);
  });
});
