// What GET /api/settings tells the settings page about this Canopy: the facts set by its environment, which
// the page shows but cannot change (the detector's rules are GET/PUT /api/detector/rules). Never a secret:
// whether API keys are required, not the keys; the webhook's host, not its URL (its path is often the secret).

/** Outcomes of this process's alert webhook since it started (lib/server/webhook-status.ts). */
export interface WebhookDeliveryStatus {
  since: string;
  delivered: number;
  retried: number;
  failed: number;
  dropped: number;
  lastDeliveredAt: string | null;
  lastFailedAt: string | null;
  lastError: string | null;
}

export interface SettingsFacts {
  version: string;
  storage: {
    mode: 'embedded' | 'server';
    /** Spans, alerts and kills older than this (by ingest time) are dropped. */
    retentionDays: number;
  };
  apiKeysRequired: boolean;
  /** CANOPY_TREE_BUDGET_USD: the budget of trees that set none of their own; null when unset. */
  defaultTreeBudgetUsd: number | null;
  detector: {
    /** False with CANOPY_DETECTOR=off: another process (`npm run detector`) judges the trees, or none does. */
    inThisProcess: boolean;
    tickMs: number;
    /** The error classes a retry storm can count (the rule settings' `retry_storm.errorClasses` options). */
    errorClasses: string[];
  };
  webhook: {
    /** CANOPY_WEBHOOK_URL as this process sees it (a detector in another process has its own environment). */
    configured: boolean;
    host: string | null;
    signed: boolean;
    /** What this process's sender did; null when no sender runs here. */
    deliveries: WebhookDeliveryStatus | null;
    /** From the stored alerts, whichever process sends: alerts whose latest severity was delivered, and those still owed. */
    deliveredAlerts: number;
    owedAlerts: number;
    /** When the oldest alert still owed was first raised. */
    oldestOwedAt: string | null;
  };
}
