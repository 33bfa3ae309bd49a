import 'server-only';
import type { SettingsFacts } from '../domain/settings-facts';
import { ERROR_CLASSES } from '../../detector/settings';
import type { CanopyRuntime } from './runtime';
import { alertDeliveryCounts } from './queries/alert-delivery';
import type { ReadOptions } from './queries/read';
import { webhookDeliveryStatus } from './webhook-status';

/** The facts the settings page shows about this process: its configuration, its webhook's record, none secret. */
export async function settingsFacts(runtime: Pick<CanopyRuntime, 'config' | 'storage' | 'version'>, opts: ReadOptions = {}): Promise<SettingsFacts> {
  const { config, storage, version } = runtime;
  const delivery = await alertDeliveryCounts(storage.client, opts);
  return {
    version,
    storage: { mode: storage.backend, retentionDays: config.retentionDays },
    apiKeysRequired: config.apiKeys.length > 0,
    // Validated at start (a value that is not a budget stops Canopy), so it is a budget or null here.
    defaultTreeBudgetUsd: config.treeBudgetUsd,
    detector: { inThisProcess: config.detector, tickMs: config.detectorTickMs, errorClasses: [...ERROR_CLASSES] },
    webhook: {
      configured: Boolean(config.webhookUrl),
      host: config.webhookUrl ? hostOf(config.webhookUrl) : null,
      signed: Boolean(config.webhookSecret),
      deliveries: webhookDeliveryStatus(),
      deliveredAlerts: delivery.delivered,
      owedAlerts: delivery.owed,
      oldestOwedAt: delivery.oldestOwedMs === null ? null : new Date(delivery.oldestOwedMs).toISOString(),
    },
  };
}

/** The webhook's host and port only: its path and query are often the secret (Slack's are). */
function hostOf(url: string): string | null {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}
