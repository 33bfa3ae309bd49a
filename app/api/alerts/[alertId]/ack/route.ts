import { getRuntime } from '@/lib/server/runtime';
import { apiRoute, json, jsonError } from '@/lib/server/http';
import { acknowledgeAlert } from '@/lib/server/queries/alerts';

export const dynamic = 'force-dynamic';

const ALERT_ID = /^[0-9a-f]{16}$/;

/** Someone is on it: the alert leaves the open ones (an escalation opens it again). */
export const POST = apiRoute(async (_request: Request, context: { params: Promise<{ alertId: string }> }) => {
  const id = (await context.params).alertId.toLowerCase();
  if (!ALERT_ID.test(id)) return jsonError(400, 'alertId must be 16 hexadecimal characters');
  const { storage, config } = getRuntime();
  const alert = await acknowledgeAlert(storage, id, config.retentionDays);
  return alert ? json(alert) : jsonError(404, `No alert ${id}`);
}, { write: true });
