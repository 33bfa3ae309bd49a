export { CanopyStartProcessor, startedReport, type CanopyStartProcessorOptions } from './start-processor.js';
export type { ReportStats } from './report-queue.js';
export { KillWatcher, FAIL_CLOSED_AFTER_MS, type KillWatcherOptions, type KillTarget, type SpanRef } from './kill-watcher.js';
export { canopy, configureCanopy, killSignal, assertAlive } from './default-watcher.js';
export { KilledError, isKilledError, type KilledScope } from './killed-error.js';
export { canopyUrlFromOtlp, DEFAULT_CANOPY_URL } from './config.js';
export { STARTED_ATTRIBUTE, type ControlAnswer, type Kill, type KillEvent, type KillScope, type KillSource } from './wire.js';
