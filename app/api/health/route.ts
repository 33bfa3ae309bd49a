import { getRuntime } from '@/lib/server/runtime';
import { apiRoute } from '@/lib/server/http';
import type { HealthResponse } from '@/lib/domain';

export const dynamic = 'force-dynamic';

/** Healthy means exports can be stored: storage that cannot write answers 503, for supervisors and the UI. */
export const GET = apiRoute(async () => {
  const { storage, version } = getRuntime();
  const write = await storage.writeHealth();
  const body: HealthResponse = write.ok
    ? { status: 'ok', storage: storage.backend, version }
    : { status: 'storage_unwritable', storage: storage.backend, version, error: write.reason };
  return Response.json(body, { status: write.ok ? 200 : 503, headers: { 'cache-control': 'no-store' } });
});
