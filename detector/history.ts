// The baselines the live detector judges trees against, read from stored history (tree_history) and kept a
// short while in memory: a busy root name is judged many times a second, its history changes slowly. Trees
// this detector saw finish are added at once, before storage has them, so a tree that ends right after its
// predecessors is judged against them.
import type { ClickHouseClient } from '@clickhouse/client';
import { recentHistory, recentHistoryMany } from '../lib/server/queries/detector-state';
import { baselineKey, historyKey, summariseHistory, type RootBaseline, type TreeStats } from './baseline';
import { KindMap } from './kind-map';

/** Finished trees a baseline is made of: recent enough to follow drift, enough for a stable p99. */
export const HISTORY_TREES = 500;
/**
 * A history is read from storage again only this often: the trees this detector judges are added to it as they
 * finish, and it is the only writer of history (a read per kind every 30 s was, at full ingest, a query every
 * tick or two, ~17 ms of the engine's CPU each). Storage brings what memory cannot: rows gone by retention. A
 * history too short to be trusted was read again every second, for the trees that complete it, but those are
 * the trees added here: at full ingest, a kind whose trees were mostly flagged (kept out of it) stayed short and
 * was read 20–60 times in 25 s, up to 0.7 s of the engine's time, which ingest waits for.
 */
const FRESH_MS = 5 * 60_000;
/** How long a tree added here is kept beside what storage returns (until storage surely has it). */
const ADDED_KEEP_MS = 60_000;
/**
 * A trusted history's summary is recomputed at most this often as trees are added: summarising 500 trees
 * sorts every measure (~0.3 ms now, in typed arrays; ~5 ms when this was set), and at full ingest every key
 * gained trees in every batch, which held the event loop for 100–200 ms per batch; every 5 s it was still the
 * main thread's largest part of judging in the stream (a profile at 30,000 spans/s: ~15 ms per second). One tree more or less moves a 500-tree p99 little;
 * a short history (still growing towards trust) is summarised again at once, so the tree that completes it is
 * judged against it.
 */
const RESUMMARISE_MS = 15_000;

interface Entry {
  at: number;
  /** Newest last. */
  trees: Map<string, TreeStats>;
  baseline: RootBaseline | null | undefined;
  /** When `baseline` was computed, and whether trees were added since. */
  summarisedAt: number;
  changed: boolean;
}

/** A tree added here: kept ADDED_KEEP_MS for the reads of its kind's and its service's history from storage. */
interface Added {
  rootKey: string;
  serviceKey: string;
  traceId: string;
  stats: TreeStats;
  at: number;
}

/** Trees added here that are remembered at most (past it, the oldest are forgotten before their time). */
const ADDED_MAX = 200_000;

export class StoredHistory {
  private readonly cache = new Map<string, Entry>();
  /**
   * The trees added here, oldest first from `recentFrom`: one list for every key, read only when a key's history
   * is read from storage again (rarely). A map of trees per key, trimmed as it grew, cost more per tree added
   * than the cached histories themselves (~1.5 µs of ~3).
   */
  private recent: Added[] = [];
  private readonly keys = new KindMap<{ rootKey: string; serviceKey: string }>();
  private recentFrom = 0;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly minTrees: () => number,
    private readonly now: () => number = Date.now,
  ) {}

  rootName(service: string, rootName: string): Promise<RootBaseline | null> {
    return this.get(this.keysOf(service, rootName).rootKey, service, rootName);
  }

  service(service: string): Promise<RootBaseline | null> {
    return this.get(historyKey(service, null), service, null);
  }

  /**
   * Reads, in one go, the baselines of these trees' kinds that are not cached or are stale: a batch of trees
   * then costs two queries, not two per tree.
   */
  async prefetch(trees: readonly { serviceName: string; rootName: string }[]): Promise<void> {
    const now = this.now();
    const pairs = new KindMap<[string, string]>();
    const services = new Set<string>();
    for (const t of trees) {
      const { rootKey, serviceKey } = this.keysOf(t.serviceName, t.rootName);
      if (t.rootName && this.stale(rootKey, now)) pairs.set(t.serviceName, t.rootName, [t.serviceName, t.rootName]);
      if (this.stale(serviceKey, now)) services.add(t.serviceName);
    }
    if (pairs.size === 0 && services.size === 0) return;
    const { byPair, byService } = await recentHistoryMany(this.client, [...pairs.values()], [...services], HISTORY_TREES);
    for (const [service, rootName] of pairs.values()) this.fill(this.keysOf(service, rootName).rootKey, byPair.get(baselineKey(service, rootName)) ?? [], service, rootName, now);
    for (const service of services) this.fill(historyKey(service, null), byService.get(service) ?? [], service, null, now);
  }

  private stale(key: string, now: number): boolean {
    const entry = this.cache.get(key);
    if (!entry) return true;
    return now - entry.at >= FRESH_MS;
  }

  /** Caches a key's stored trees (newest first, as read) with the trees added here since. */
  private fill(key: string, stored: (TreeStats & { traceId: string })[], service: string, rootName: string | null, now: number): Entry {
    const trees = new Map<string, TreeStats>();
    for (const t of [...stored].reverse()) trees.set(t.traceId, t);
    for (let i = this.recentFrom; i < this.recent.length; i++) {
      const a = this.recent[i];
      if ((a.rootKey !== key && a.serviceKey !== key) || now - a.at > ADDED_KEEP_MS) continue;
      trees.delete(a.traceId);
      trees.set(a.traceId, a.stats);
    }
    const entry: Entry = { at: now, trees, baseline: undefined, summarisedAt: 0, changed: false };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, entry);
    return entry;
  }

  /** A tree finished (and is no runaway): part of its root name's and its service's history from now on. */
  add(traceId: string, stats: TreeStats): void {
    const now = this.now();
    const { rootKey, serviceKey } = this.keysOf(stats.serviceName, stats.rootName);
    this.remember({ rootKey, serviceKey, traceId, stats, at: now }, now);
    for (const key of [rootKey, serviceKey]) {
      const entry = this.cache.get(key);
      if (!entry) continue;
      entry.trees.delete(traceId);
      entry.trees.set(traceId, stats);
      dropOldest(entry.trees);
      if (entry.trees.size < 2 * this.minTrees()) entry.baseline = undefined;
      else entry.changed = true;
    }
  }

  /** A kind's cache keys, made once per kind (not once per tree added). */
  private keysOf(serviceName: string, rootName: string): { rootKey: string; serviceKey: string } {
    let keys = this.keys.get(serviceName, rootName);
    if (!keys) {
      if (this.keys.size >= 10_000) this.keys.clear();
      this.keys.set(serviceName, rootName, (keys = { rootKey: historyKey(serviceName, rootName), serviceKey: historyKey(serviceName, null) }));
    }
    return keys;
  }

  private remember(added: Added, now: number): void {
    this.recent.push(added);
    let from = this.recentFrom;
    while (from < this.recent.length && (now - this.recent[from].at > ADDED_KEEP_MS || this.recent.length - from > ADDED_MAX)) from++;
    // The forgotten are dropped in one go once they are half the list.
    if (from > 1024 && 2 * from > this.recent.length) {
      this.recent = this.recent.slice(from);
      from = 0;
    }
    this.recentFrom = from;
  }

  /**
   * A kind's and its service's histories as this detector holds them, without reading storage (undefined: not
   * held): what the ingest workers are told after a batch added trees. The next batch looks them up as usual.
   */
  held(service: string, rootName: string): { rootName: RootBaseline | null | undefined; service: RootBaseline | null | undefined } {
    const now = this.now();
    const { rootKey, serviceKey } = this.keysOf(service, rootName);
    const own = rootName ? this.cache.get(rootKey) : undefined;
    const svc = this.cache.get(serviceKey);
    return { rootName: own && this.summary(own, rootName, now), service: svc && this.summary(svc, null, now) };
  }

  private async get(key: string, service: string, rootName: string | null): Promise<RootBaseline | null> {
    let entry = this.cache.get(key);
    const now = this.now();
    if (!entry || this.stale(key, now)) entry = this.fill(key, await recentHistory(this.client, service, rootName, HISTORY_TREES), service, rootName, now);
    return this.summary(entry, rootName, now);
  }

  private summary(entry: Entry, rootName: string | null, now: number): RootBaseline | null {
    if (entry.baseline === undefined || (entry.changed && now - entry.summarisedAt >= RESUMMARISE_MS)) {
      const list = [...entry.trees.values()].slice(-HISTORY_TREES);
      entry.baseline = list.length > 0 ? summariseHistory(list, rootName === null ? 'service' : 'rootName') : null;
      entry.summarisedAt = now;
      entry.changed = false;
    }
    return entry.baseline;
  }
}

/**
 * More than a baseline's worth of trees is never read (the newest HISTORY_TREES are): past twice that, the oldest
 * go, in one pass, instead of one per tree added (each such trim began a walk from the Map's first slot, past the
 * entries deleted before it, which a Map keeps until it is rebuilt).
 */
function dropOldest(trees: Map<string, unknown>): void {
  if (trees.size <= 2 * HISTORY_TREES) return;
  for (const id of trees.keys()) {
    if (trees.size <= HISTORY_TREES) break;
    trees.delete(id);
  }
}
