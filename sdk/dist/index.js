// @canopy/sdk: report spans to Canopy when they start, and stop an agent's work when Canopy kills its request
// tree or a branch of it. See README.md.
export { CanopyStartProcessor, startedReport } from './start-processor.js';
export { KillWatcher, FAIL_CLOSED_AFTER_MS } from './kill-watcher.js';
export { canopy, configureCanopy, killSignal, assertAlive } from './default-watcher.js';
export { KilledError, isKilledError } from './killed-error.js';
export { canopyUrlFromOtlp, DEFAULT_CANOPY_URL } from './config.js';
export { STARTED_ATTRIBUTE } from './wire.js';
