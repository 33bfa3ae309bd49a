import 'server-only';
import type { BudgetSource, TreeBudget } from '../domain';
import type { Storage } from './storage/storage';
import type { Log } from './services';
import { ChangePoller } from './change-poller';
import { getRuntime } from './runtime';
import { activeBudgets, budgetsChangedWithin, nextBudgetVersion, writeBudget, type StoredBudget } from './queries/budgets';

// Tree budgets in memory, for the control API's `budget` (on agents' hot path: no query) and the trace detail.
// Budgets set through the API are stored first and shared by every process on one ClickHouse server (polled,
// change-poller.ts). Spend, and the budgets agents set by attribute, are what the detector last saw of a tree:
// known where the detector runs (with `npm run detector` in its own process, the ingest processes' answers
// carry the budget set through the API or the default, with the spend they last saw: none).

/** Trees whose spend and attribute budget are remembered (the least recently judged go first). */
const REMEMBERED_MAX = 100_000;

interface Seen {
  spentUsd: number;
  attributeUsd: number | null;
}

export class BudgetBook {
  /** Budgets set through the API and in force, with their version (an older row read late never undoes a newer one). */
  private readonly set = new Map<string, StoredBudget>();
  private readonly versions = new Map<string, number>();
  private readonly seen = new Map<string, Seen>();
  private readonly poller: ChangePoller;

  constructor(private readonly deps: { storage: Storage; retentionDays: number; defaultUsd: number | null; log: Log }) {
    this.poller = new ChangePoller(
      {
        reload: async () => {
          const found = await activeBudgets(this.deps.storage.client);
          const inForce = new Set(found.map((b) => b.traceId));
          for (const [traceId, b] of [...this.set]) if (!inForce.has(traceId)) this.apply({ ...b, maxCostUsd: null, version: b.version + 1 });
          for (const b of found) this.apply(b);
        },
        changedWithin: async (ms) => {
          for (const b of await budgetsChangedWithin(this.deps.storage.client, ms)) this.apply(b);
        },
      },
      'budget',
      deps.log,
    );
  }

  start(): Promise<void> {
    return this.poller.start(this.deps.storage.backend === 'server');
  }

  stop(): Promise<void> {
    return this.poller.stop();
  }

  /** Sets (or, with null, removes) a tree's budget through the API: stored, then in force here; the detector checks it on its next look at the tree. */
  async setBudget(traceId: string, maxCostUsd: number | null): Promise<TreeBudget | null> {
    const budget: StoredBudget = { traceId, maxCostUsd, version: Math.max(nextBudgetVersion(), (this.versions.get(traceId) ?? 0) + 1) };
    await writeBudget(this.deps.storage, budget, this.deps.retentionDays);
    this.apply(budget);
    return this.budgetOf(traceId);
  }

  anySetThroughApi(): boolean {
    return this.set.size > 0;
  }

  /** The budget in force: set through the API, else by attribute, else the default; null when none. */
  budgetOf(traceId: string): TreeBudget | null {
    const spentUsd = this.seen.get(traceId)?.spentUsd ?? 0;
    const api = this.set.get(traceId)?.maxCostUsd;
    if (api != null) return { maxCostUsd: api, spentUsd, source: 'api' };
    const attribute = this.seen.get(traceId)?.attributeUsd;
    if (attribute != null) return { maxCostUsd: attribute, spentUsd, source: 'attribute' };
    return this.deps.defaultUsd === null ? null : { maxCostUsd: this.deps.defaultUsd, spentUsd, source: 'default' };
  }

  /** The budget of a tree the detector is judging, from what it read: the API's (stored), the attribute's, the default. */
  resolve(traceId: string, api: StoredBudget | undefined, attributeUsd: number | null): { maxCostUsd: number; source: BudgetSource } | null {
    if (api) this.apply(api);
    const inForce = this.set.get(traceId)?.maxCostUsd;
    if (inForce != null) return { maxCostUsd: inForce, source: 'api' };
    if (attributeUsd != null) return { maxCostUsd: attributeUsd, source: 'attribute' };
    return this.deps.defaultUsd === null ? null : { maxCostUsd: this.deps.defaultUsd, source: 'default' };
  }

  /** What the detector saw of a tree: its spend (each model call once) and the budget its spans set. */
  noteSpend(traceId: string, spentUsd: number, attributeUsd: number | null): void {
    this.seen.delete(traceId); // most recently judged last
    this.seen.set(traceId, { spentUsd, attributeUsd });
    if (this.seen.size > REMEMBERED_MAX) for (const id of this.seen.keys()) if (this.seen.delete(id) && this.seen.size <= REMEMBERED_MAX * 0.9) break;
  }

  private apply(b: StoredBudget): void {
    if (b.version <= (this.versions.get(b.traceId) ?? -1)) return;
    this.versions.set(b.traceId, b.version);
    if (b.maxCostUsd === null) this.set.delete(b.traceId);
    else this.set.set(b.traceId, b);
  }
}

/** The budget book as a service of server.ts: started after storage, reached by the route handlers and the detector through the runtime. */
export async function startBudgetBook(deps: { storage: Storage; retentionDays: number; defaultUsd: number | null; log: Log }): Promise<BudgetBook> {
  const book = new BudgetBook(deps);
  await book.start();
  getRuntime().budgets = book;
  return book;
}
