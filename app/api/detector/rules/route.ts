import { getRuntime } from '@/lib/server/runtime';
import { apiRoute, json, jsonError } from '@/lib/server/http';
import { issuesText, readJsonBody } from '@/lib/server/request-body';
import { detectorSettingsSchema } from '@/detector/settings';
import { loadRuleSettings, saveRuleSettings } from '@/detector/settings-store';

export const dynamic = 'force-dynamic';

/** The rule settings in force, every field present. */
export const GET = apiRoute(async () => json(await loadRuleSettings(getRuntime().storage)));

/** Replaces the settings (fields left out take their defaults); detectors apply them on their next tick. */
export const PUT = apiRoute(async (request: Request) => {
  const body = await readJsonBody(request);
  if (!body.ok) return body.response;
  const parsed = detectorSettingsSchema.safeParse(body.value);
  if (!parsed.success) return jsonError(400, issuesText(parsed.error.issues));
  const runtime = getRuntime();
  await saveRuleSettings(runtime.storage, parsed.data);
  runtime.ruleSettingsSaved?.();
  return json(parsed.data);
}, { write: true });
