import { getRuntime } from '@/lib/server/runtime';
import { apiRoute, json, jsonError } from '@/lib/server/http';
import { getAlert, publicAlert } from '@/lib/server/queries/alerts';

export const dynamic = 'force-dynamic';

const ALERT_ID = /^[0-9a-f]{16}$/;

export const GET = apiRoute(async (request: Request, context: { params: Promise<{ alertId: string }> }) => {
  const id = (await context.params).alertId.toLowerCase();
  if (!ALERT_ID.test(id)) return jsonError(400, 'alertId must be 16 hexadecimal characters');
  const alert = await getAlert(getRuntime().storage.client, id, { signal: request.signal });
  return alert ? json(publicAlert(alert)) : jsonError(404, `No alert ${id}`);
});
