// The process's kill watcher, for the one-line API (`killSignal()`, `assertAlive()`): created from the environment
// on first use, or from `configureCanopy(options)`. Shared by every copy of this package loaded in the process, so
// the process keeps one event stream however its dependencies bundle the SDK.
import { KillWatcher } from './kill-watcher.js';
const DEFAULT = Symbol.for('@canopy/sdk/kill-watcher@1');
const holder = globalThis;
/** The process's kill watcher (created on first use from CANOPY_URL and CANOPY_API_KEY). */
export function canopy() {
    return (holder[DEFAULT] ??= new KillWatcher());
}
/** Replaces the process's kill watcher with one made from `options`; the previous one is closed. */
export function configureCanopy(options = {}) {
    holder[DEFAULT]?.close();
    return (holder[DEFAULT] = new KillWatcher(options));
}
/** An AbortSignal that aborts when the active span's tree, or a branch at or above it, is killed. */
export function killSignal(target) {
    return canopy().killSignal(target);
}
/** Throws a KilledError when the active span's tree, or a branch at or above it, is killed. */
export function assertAlive(target) {
    canopy().assertAlive(target);
}
