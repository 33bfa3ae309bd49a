import { getRuntime } from '@/lib/runtime';
import { json } from '@/lib/http';
import type { HealthResponse } from '@/lib/api-types';

export const dynamic = 'force-dynamic';

export function GET(): Response {
  const { storage, version } = getRuntime();
  const body: HealthResponse = { status: 'ok', storage: storage.backend, version };
  return json(body);
}
