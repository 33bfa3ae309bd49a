// The webhook's record for the settings page (lib/server/webhook-status.ts), fed by the real sender against a
// real HTTP receiver: deliveries, failures with their reason, and never the URL (its path is often the secret).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebhookSender } from '../../detector/webhook';
import { createMetrics } from '../../lib/server/metrics';
import { recordWebhookOutcome, webhookDeliveryStatus } from '../../lib/server/webhook-status';
import type { Alert } from '../../lib/domain';

let server: http.Server;
let url: string;
let answer = 200;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(answer).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T000/B000/s3cr3t`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const alert = { id: '0123456789abcdef', traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), rule: 'loop', severity: 'warning', title: 'x', status: 'open' } as unknown as Alert;

it('records deliveries and failures of the sender, without the URL', async () => {
  expect(webhookDeliveryStatus()).toBeNull(); // no sender in this process yet
  const sender = new WebhookSender({ url, publicUrl: 'http://canopy', maxAttempts: 2, baseDelayMs: 1 }, { metrics: createMetrics(), log: () => {} });
  const started = webhookDeliveryStatus()!;
  expect(started).toMatchObject({ delivered: 0, failed: 0, lastDeliveredAt: null });

  expect(await sender.deliver(alert, 'new')).toBe(true);
  answer = 500;
  expect(await sender.deliver(alert, 'escalated')).toBe(false);
  await sender.stop();

  const status = webhookDeliveryStatus()!;
  expect(status).toMatchObject({ delivered: 1, retried: 1, failed: 1, dropped: 0, lastError: 'HTTP 500' });
  expect(Date.parse(status.lastDeliveredAt!)).toBeGreaterThanOrEqual(Date.parse(started.since));
  expect(Date.parse(status.lastFailedAt!)).toBeGreaterThanOrEqual(Date.parse(status.lastDeliveredAt!));

  recordWebhookOutcome('failed', `fetch failed: ${url} unreachable`);
  expect(webhookDeliveryStatus()!.lastError).toBe('fetch failed: <url> unreachable');
});
