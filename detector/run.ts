// The detector as a service of a Canopy process (server.ts) or of its own (detector/main.ts): the webhook when
// one is configured, the tick, and the detector's numbers in /metrics.
import { Counter, Gauge, Histogram } from 'prom-client';
import type { CanopyConfig } from '../lib/server/config';
import type { Metrics } from '../lib/server/metrics';
import type { Storage } from '../lib/server/storage/storage';
import { publicAlert } from '../lib/server/queries/alerts';
import { Detector, type Budgets, type Log, type TickReport, type TreeStream } from './service';
import type { Killer } from './auto-kill';
import { WebhookSender } from './webhook';
import type { StoredTrees } from './stored-feed';

export interface RunningDetector {
  detector: Detector;
  stop(): Promise<void>;
}

/**
 * `budgets` and `killer`: the process's budget book and kill hub (server.ts's, or the detector process's own,
 * main.ts); without them no budget is checked and enforcing policies only record what they would kill.
 */
export async function startDetector(opts: {
  config: CanopyConfig;
  storage: Storage;
  metrics: Metrics;
  log: Log;
  publicUrl: string;
  budgets?: Budgets;
  killer?: Killer;
  stream?: TreeStream;
  settingsPollMs?: number;
  stored?: StoredTrees;
}): Promise<RunningDetector> {
  const { config, storage, metrics, log } = opts;
  const webhook = config.webhookUrl
    ? new WebhookSender({ url: config.webhookUrl, secret: config.webhookSecret, publicUrl: config.publicUrl ?? opts.publicUrl }, { metrics, log })
    : null;
  const record = detectorMetrics(metrics);
  const detector = new Detector({
    storage,
    retentionDays: config.retentionDays,
    tickMs: config.detectorTickMs,
    log,
    notify: webhook ? (alert, change) => webhook.deliver(publicAlert(alert), change) : undefined,
    onTick: record,
    budgets: opts.budgets,
    killer: opts.killer,
    stream: opts.stream,
    settingsPollMs: opts.settingsPollMs,
    stored: opts.stored,
  });
  await detector.start();
  return {
    detector,
    async stop() {
      await detector.stop();
      await webhook?.stop();
    },
  };
}

function detectorMetrics(metrics: Metrics): (r: TickReport) => void {
  const registers = [metrics.registry];
  const tick = new Histogram({ name: 'canopy_detector_tick_seconds', help: 'Duration of one detector tick', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers });
  const trees = new Counter({ name: 'canopy_detector_trees_judged_total', help: 'Trees the detector judged', registers });
  const spans = new Counter({ name: 'canopy_detector_spans_judged_total', help: 'Spans read by the detector to judge trees', registers });
  const streamed = new Counter({ name: 'canopy_detector_spans_judged_in_stream_total', help: 'Of the spans judged, those of trees an ingest worker judged whole as their export arrived (not read back from storage)', registers });
  const alerts = new Counter({ name: 'canopy_detector_alert_writes_total', help: 'Alert rows written (raised, grown, escalated, resolved)', registers });
  const pending = new Gauge({ name: 'canopy_detector_pending_trees', help: 'Trees waiting for a later tick (budget or big-tree cadence)', registers });
  return (r) => {
    tick.observe(r.ms / 1000);
    trees.inc(r.evaluated);
    spans.inc(r.spans);
    streamed.inc(r.streamedSpans);
    alerts.inc(r.alertsWritten);
    pending.set(r.pending);
  };
}
