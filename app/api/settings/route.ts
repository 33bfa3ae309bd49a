import { getRuntime } from '@/lib/server/runtime';
import { apiRoute, json } from '@/lib/server/http';
import { settingsFacts } from '@/lib/server/settings-facts';

export const dynamic = 'force-dynamic';

/** What this Canopy runs with (storage, retention, keys required, budget, detector, webhook): read-only facts. */
export const GET = apiRoute(async (request: Request) => json(await settingsFacts(getRuntime(), { signal: request.signal })));
