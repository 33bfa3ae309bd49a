// The detector's link with the ingest workers that judge trees in the stream (stream-judge.ts): what it tells
// them to judge with (the settings, versioned, and the histories it looked up, with content ids), and which of
// their judgements it uses: a tree's, when the exports it was made from are all those that carried the tree
// lately (stream-book.ts), storage holds exactly those spans (as counted when ingest told of them on the embedded
// store, stored-counts.ts; else one count read per tick), and the history it was
// judged against is the one the detector would choose now (or the kind's own, trusted, while the detector trusts
// it too), or the tree is clean against that one as well (judgement.ts, cleanUnder).
import type { ClickHouseClient } from '@clickhouse/client';
import { storedSpanCounts } from '../lib/server/queries/tree-spans';
import { historyKey, type RootBaseline } from './baseline';
import { cleanUnder } from './judgement';
import type { DetectorSettings } from './settings';
import { StreamBook } from './stream-book';
import type { StoredCounts } from './stored-counts';
import { trustedOwnHistory, type KnownHistory, type StreamContext, type StreamJudged, type StreamTree } from './stream-judge';

/**
 * How far an exporter's clock may run ahead of Canopy's, or a child span start before its parent on another host:
 * a span stored before counting began is taken to have started no later than this after it was stored.
 */
const CLOCK_SLACK_MS = 5 * 60_000;

/** The ingest side's part in judging trees in the stream (ingest/prepare-pool.ts). */
export interface TreeStream {
  judgeTrees(context: StreamContext | null, listener: ((trees: StreamTree[]) => void) | null): void;
}

/** A kind of tree, as the detector's batch knows it, with the histories it looked up for it. */
export interface Kind {
  serviceName: string;
  /** '' for a running tree (its root, and so its kind, not known yet): only its service's history applies. */
  rootName: string;
  histories: { rootName: RootBaseline | null; service: RootBaseline | null };
}

export class StreamJudgements {
  private readonly book: StreamBook;
  /** Judgements checked against storage, for trees due: used when the tree is judged. */
  private readonly verified = new Map<string, StreamJudged>();
  private settings: DetectorSettings | null = null;
  private settingsVersion = 0;
  /** What the workers were told (or will be): the histories by historyKey. */
  private readonly histories = new Map<string, KnownHistory>();
  private readonly idsByContent = new Map<string, number>();
  private readonly idsByObject = new WeakMap<RootBaseline, number>();
  private lastId = 0;
  private changed = true;
  private stale = false;
  private publishedAt = 0;

  constructor(
    private readonly stream: TreeStream,
    private readonly deps: {
      client: ClickHouseClient;
      settings: () => DetectorSettings;
      now: () => number;
      /** The exports this process stored, per tree (null: storage has other writers, or none tells). */
      counts: StoredCounts | null;
      /** Trees whose judgements are always checked against storage. */
      mustAsk: (traceId: string) => boolean;
    },
  ) {
    this.book = new StreamBook(deps.now);
  }

  /** Settings changed (through the API): judgements made with the earlier ones are not used. */
  noteSettings(): void {
    const current = this.deps.settings();
    if (this.settings === current) return;
    this.settings = current;
    this.settingsVersion++;
    this.changed = true;
  }

  /** Tells the workers what they judge with: when the settings or a history changed, else every 10 s. */
  publish(now: number): void {
    this.noteSettings();
    if (!this.changed && now - this.publishedAt < (this.stale ? 2_000 : 10_000)) return;
    const book = this.book;
    this.stream.judgeTrees({ settingsVersion: this.settingsVersion, settings: this.deps.settings(), baselines: [...this.histories] }, (trees) => book.add(trees));
    this.changed = false;
    this.stale = false;
    this.publishedAt = now;
  }

  stop(): void {
    this.stream.judgeTrees(null, null);
  }

  /** The tree has spans stored since: no judgement of it made before stands. */
  forget(traceId: string): void {
    this.verified.delete(traceId);
  }

  /**
   * The trees due this tick that an ingest worker judged whole, checked against storage: it holds exactly those
   * spans of them (the trace index's count: nothing from another export, process or an earlier run).
   */
  async check(ids: readonly string[]): Promise<void> {
    const candidates = new Map<string, StreamJudged>();
    for (const id of ids) {
      const judged = this.book.take(id, this.settingsVersion);
      if (!judged) continue;
      const stored = this.storedExports(id, judged);
      if (stored === null) candidates.set(id, judged);
      else if (stored === judged.exports) this.verified.set(id, judged);
      else if (stored < judged.exports) this.book.putBack(id, judged);
    }
    if (candidates.size === 0) return;
    const counts = await storedSpanCounts(this.deps.client, [...candidates.keys()]);
    for (const [id, judged] of candidates) {
      const stored = counts.get(id) ?? 0;
      if (stored === judged.spans) this.verified.set(id, judged);
      // A tree due from an earlier export when the worker's judgement of it whole came in, a moment before the
      // last export's rows were stored: it is judged from storage now, and from this judgement once they are.
      else if (stored < judged.spans) this.book.putBack(id, judged);
    }
  }

  /**
   * How many stored exports carried the tree, when this process knows it has seen every one (stored-counts.ts):
   * counted since it began counting, and every span judged started after what was stored before (with a slack
   * for the exporters' clocks, and a child starting a moment before its parent on another host). Null: storage
   * is asked. So is it for a tree with a stored alert: a judgement of part of it could resolve the alert.
   */
  private storedExports(traceId: string, judged: StreamJudged): number | null {
    const { counts, mustAsk } = this.deps;
    if (!counts || mustAsk(traceId)) return null;
    if (!(judged.firstStartMs > counts.storedBeforeMs() + CLOCK_SLACK_MS)) return null;
    return counts.count(traceId);
  }

  /** Whether the tree has a judgement checked against storage (it is likely not read: `standing` decides). */
  checked(traceId: string): boolean {
    return this.verified.has(traceId);
  }

  /**
   * Of a batch, the trees whose checked judgement stands: made against the history the detector would choose
   * now, or the kind's own trusted history while the detector trusts the kind's own too, or clean and clean
   * against the history the detector chooses as well. The others are read and judged by the detector (a tree
   * flagged, or one the kind's grown history would flag: the tree that ends a series is judged against the
   * series). `lookUp` looks up the histories of the kinds given, once per kind; `baselineOf` then tells which of
   * a kind's the detector would choose.
   */
  async standing(
    ids: readonly string[],
    settings: DetectorSettings,
    lookUp: (kinds: Iterable<{ serviceName: string; rootName: string }>) => Promise<void>,
    baselineOf: (serviceName: string, rootName: string) => RootBaseline | null,
  ): Promise<Map<string, StreamJudged>> {
    const out = new Map<string, StreamJudged>();
    for (const id of ids) {
      const judged = this.verified.get(id);
      if (!judged) continue;
      this.verified.delete(id);
      out.set(id, judged);
    }
    if (out.size === 0) return out;
    await lookUp(out.values());
    for (const [id, j] of out) {
      const current = baselineOf(j.serviceName, j.rootName);
      const stands = (j.ownTrusted ? trustedOwnHistory(current, settings) : this.historyId(current) === j.baselineId) || cleanUnder(j.judgement, current, settings);
      if (!stands) out.delete(id);
    }
    return out;
  }

  /** The histories a batch was judged against, for the workers: each kind's and service's, trusted or not. */
  noteHistories(kinds: Iterable<Kind>): void {
    const settings = this.deps.settings();
    for (const { serviceName, rootName, histories } of kinds) {
      if (rootName) this.note(historyKey(serviceName, rootName), histories.rootName, settings);
      this.note(historyKey(serviceName, null), histories.service, settings);
    }
  }

  trim(max: number): void {
    if (this.verified.size > max) this.verified.clear();
  }

  private note(key: string, b: RootBaseline | null, settings: DetectorSettings): void {
    const known = this.histories.get(key);
    if (known && (known.baseline === b || known.id === this.historyId(b))) return;
    if (this.histories.size >= 10_000) this.histories.clear();
    this.histories.set(key, { id: this.historyId(b), baseline: b });
    // A history the workers do not have, one not trusted as its kind's own (a judgement against it stands only
    // while it is unchanged), or one trusted just now (the workers judged the kind against its service's until
    // then: such a judgement stands only where the tree is clean against the kind's own too) is told at once. A
    // trusted summary recomputed (every 15 s per kind) waits for the next word.
    if (!known || !trustedOwnHistory(b, settings) || !trustedOwnHistory(known.baseline, settings)) this.changed = true;
    else this.stale = true;
  }

  /**
   * An id for a history summary, by content (the workers are told histories by value; their judgements name them
   * by id): a summary computed again over the same trees is the same history.
   */
  private historyId(b: RootBaseline | null): number {
    if (!b) return 0;
    let id = this.idsByObject.get(b);
    if (id !== undefined) return id;
    const content = JSON.stringify(b);
    id = this.idsByContent.get(content);
    if (id === undefined) {
      if (this.idsByContent.size >= 10_000) this.idsByContent.clear();
      this.idsByContent.set(content, (id = ++this.lastId));
    }
    this.idsByObject.set(b, id);
    return id;
  }
}
