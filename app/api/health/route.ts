import { getRuntime } from '@/lib/server/runtime';
import { apiRoute } from '@/lib/server/http';
import type { HealthResponse } from '@/lib/domain';

export const dynamic = 'force-dynamic';

/** Healthy means exports can be stored: storage that cannot write answers 503, for supervisors and the UI. */
export const GET = apiRoute(async () => {
  const { storage, version, config } = getRuntime();
  const write = await storage.writeHealth();
  // Where exporters should send: the configured ports (a port of 0 is chosen at start and not known here).
  const ports = { otlpPort: config.otlpPort || null, otlpGrpcPort: config.otlpGrpcPort || null };
  const body: HealthResponse = write.ok
    ? { status: 'ok', storage: storage.backend, version, ...ports }
    : { status: 'storage_unwritable', storage: storage.backend, version, error: write.reason, ...ports };
  return Response.json(body, { status: write.ok ? 200 : 503, headers: { 'cache-control': 'no-store' } });
});
