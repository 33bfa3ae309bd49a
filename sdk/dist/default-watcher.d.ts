import { KillWatcher, type KillTarget, type KillWatcherOptions } from './kill-watcher.js';
/** The process's kill watcher (created on first use from CANOPY_URL and CANOPY_API_KEY). */
export declare function canopy(): KillWatcher;
/** Replaces the process's kill watcher with one made from `options`; the previous one is closed. */
export declare function configureCanopy(options?: KillWatcherOptions): KillWatcher;
/** An AbortSignal that aborts when the active span's tree, or a branch at or above it, is killed. */
export declare function killSignal(target?: KillTarget): AbortSignal;
/** Throws a KilledError when the active span's tree, or a branch at or above it, is killed. */
export declare function assertAlive(target?: KillTarget): void;
