import type { Storage } from './storage/storage';
import type { CanopyConfig } from './config';
import type { ReadGate } from './read-gate';
import type { KillHub } from './kill-hub';
import type { BudgetBook } from './budget-book';

/**
 * What the custom server owns and route handlers use. Next bundles route handlers separately from
 * server.ts, so module-level singletons would be duplicated; one object on globalThis is shared.
 */
export interface CanopyRuntime {
  config: CanopyConfig;
  storage: Storage;
  version: string;
  /** Bounds the heavy reads (list, detail) running at once. */
  reads: ReadGate;
  /** The kills in force (lib/server/kill-hub.ts); set once its service started, after storage. */
  kills?: KillHub;
  /** Tree budgets (lib/server/budget-book.ts); set once its service started, after storage. */
  budgets?: BudgetBook;
  /** Tells this process's detector, when it runs one, that the rule settings were saved: its next tick applies them. */
  ruleSettingsSaved?: () => void;
}

const KEY = Symbol.for('canopy.runtime');
type Holder = { [KEY]?: CanopyRuntime };

export function setRuntime(runtime: CanopyRuntime | undefined): void {
  (globalThis as Holder)[KEY] = runtime;
}

export function getRuntime(): CanopyRuntime {
  const runtime = (globalThis as Holder)[KEY];
  if (!runtime) throw new Error('Canopy runtime is not initialised: start Canopy with `npm start` (server.ts)');
  return runtime;
}
