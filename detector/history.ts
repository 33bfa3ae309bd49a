// The baselines the live detector judges trees against, read from stored history (tree_history) and kept a
// short while in memory: a busy root name is judged many times a second, its history changes slowly. Trees
// this detector saw finish are added at once, before storage has them, so a tree that ends right after its
// predecessors is judged against them.
import type { ClickHouseClient } from '@clickhouse/client';
import { recentHistory } from '../lib/server/queries/detector-state';
import { summariseHistory, type RootBaseline, type TreeStats } from './baseline';

/** Finished trees a baseline is made of: recent enough to follow drift, enough for a stable p99. */
export const HISTORY_TREES = 500;
const FRESH_MS = 30_000;
// A history too short to be trusted yet is read again soon: the trees that complete it are arriving now.
const FRESH_SHORT_MS = 1_000;
/** How long a tree added here is kept beside what storage returns (until storage surely has it). */
const ADDED_KEEP_MS = 60_000;

interface Entry {
  at: number;
  /** Newest last. */
  trees: Map<string, TreeStats>;
  baseline: RootBaseline | null | undefined;
}

export class StoredHistory {
  private readonly cache = new Map<string, Entry>();
  private readonly added = new Map<string, { at: number; stats: TreeStats }>();

  constructor(
    private readonly client: ClickHouseClient,
    private readonly minTrees: () => number,
    private readonly now: () => number = Date.now,
  ) {}

  rootName(service: string, rootName: string): Promise<RootBaseline | null> {
    return this.get(`r\0${service}\0${rootName}`, service, rootName);
  }

  service(service: string): Promise<RootBaseline | null> {
    return this.get(`s\0${service}`, service, null);
  }

  /** A tree finished (and is no runaway): part of its root name's and its service's history from now on. */
  add(traceId: string, stats: TreeStats): void {
    const now = this.now();
    this.added.set(traceId, { at: now, stats });
    for (const key of [`r\0${stats.serviceName}\0${stats.rootName}`, `s\0${stats.serviceName}`]) {
      const entry = this.cache.get(key);
      if (!entry) continue;
      entry.trees.delete(traceId);
      entry.trees.set(traceId, stats);
      entry.baseline = undefined;
    }
    if (this.added.size > 50_000) for (const [id, a] of this.added) if (now - a.at > ADDED_KEEP_MS || this.added.size > 25_000) this.added.delete(id);
  }

  private async get(key: string, service: string, rootName: string | null): Promise<RootBaseline | null> {
    let entry = this.cache.get(key);
    const fresh = entry && (entry.trees.size >= this.minTrees() ? FRESH_MS : FRESH_SHORT_MS);
    if (!entry || this.now() - entry.at >= fresh!) {
      const stored = await recentHistory(this.client, service, rootName, HISTORY_TREES);
      const trees = new Map<string, TreeStats>();
      for (const t of stored.reverse()) trees.set(t.traceId, t);
      const now = this.now();
      for (const [id, a] of this.added) {
        if (now - a.at > ADDED_KEEP_MS || a.stats.serviceName !== service || (rootName !== null && a.stats.rootName !== rootName)) continue;
        trees.delete(id);
        trees.set(id, a.stats);
      }
      entry = { at: now, trees, baseline: undefined };
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(key, entry);
    }
    if (entry.baseline === undefined) {
      const list = [...entry.trees.values()].slice(-HISTORY_TREES);
      entry.baseline = list.length > 0 ? summariseHistory(list, rootName === null ? 'service' : 'rootName') : null;
    }
    return entry.baseline;
  }
}
