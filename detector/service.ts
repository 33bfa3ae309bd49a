// The live detector: every tick it judges the trees that received spans since its watermark (the activity
// index, so its cost follows the ingest rate, not the history stored), plus the quiet running trees the stall
// rule must see, and turns findings into stored alerts and webhook notices. Its state — watermark, alerts,
// history, settings — lives in storage, so a restart resumes where it stopped and never re-sends a delivered
// alert. Runs inside Canopy (server.ts) or alone (`npm run detector`, detector/main.ts).
import { severityRank, type BudgetSource, type Finding } from '../lib/domain';
import { budgetsOf, startedSpanBudgets, type StoredBudget } from '../lib/server/queries/budgets';
import { applyAutoKill, type Killer } from './auto-kill';
import { budgetFinding } from './budget';
import type { Storage } from '../lib/server/storage/storage';
import { newestActivityBefore, tracesTouchedSince, type ActivityMark } from '../lib/server/queries/trace-activity';
import { alertId, getAlert, nextAlertVersion, storedAlertsOf, tracesWithAlerts, undeliveredAlerts, writeAlerts as storeAlerts, type StoredAlert } from '../lib/server/queries/alerts';
import { readState, recordFinishedTrees, writeState, type FinishedTree } from '../lib/server/queries/detector-state';
import { quietRunningTrees, spanRowsOfTrees } from '../lib/server/queries/tree-spans';
import { diffAlerts, type AlertChange, type AlertNotice } from './alert-diff';
import { StoredHistory } from './history';
import { chooseBaseline } from './rule';
import { DetectorSettingsStore } from './settings-store';
import { JudgeThread } from './judge-thread';
import { cleanUnder } from './judgement';
import type { Judgement, TreeHead, TreeSpend } from './judge-worker';
import type { RootBaseline } from './baseline';
import type { DetectorSettings } from './settings';
import type { StreamJudged } from './stream-judge';
import { EventLoopSlices } from '../lib/server/event-loop-slices';
import { StreamJudgements, type Kind, type TreeStream } from './stream-judgements';
import { judgeServiceSpend } from './service-spend';
import { KindMap } from './kind-map';
import { StoredFeed, type StoredTrees } from './stored-feed';
import { StoredCounts } from './stored-counts';

export type Log = (event: Record<string, unknown>) => void;

/** What the detector needs of the budget book (lib/server/budget-book.ts). */
export interface Budgets {
  /** Whether any budget set through the API is in force (in any process: they are polled). */
  anySetThroughApi(): boolean;
  resolve(traceId: string, api: StoredBudget | undefined, attributeUsd: number | null): { maxCostUsd: number; source: BudgetSource } | null;
  noteSpend(traceId: string, spentUsd: number, attributeUsd: number | null): void;
}

export interface DetectorOptions {
  storage: Storage;
  retentionDays: number;
  tickMs: number;
  log: Log;
  /** Delivers a notice (the webhook); resolves true once delivered. Absent: alerts are only stored. */
  notify?: (alert: StoredAlert, change: AlertChange) => Promise<boolean>;
  /** Called after each tick (metrics, tests). */
  onTick?: (report: TickReport) => void;
  /** Tree budgets (lib/server/budget-book.ts): checked on every tree judged. Absent: no budget is checked. */
  budgets?: Budgets;
  /** Stops trees and branches for the auto-kill policies (the kill hub). Absent: enforce acts like observe. */
  killer?: Killer;
  /**
   * This process's ingest workers: they judge the trees an export carries whole (stream-judge.ts), and such a
   * judgement is used when storage holds exactly those spans of the tree. Absent (`npm run detector`): every tree is read.
   */
  stream?: TreeStream;
  /**
   * How often the saved rule settings are read when `ruleSettingsSaved` was not called (0, the default: every
   * tick). Inside a Canopy process, whose API calls it, every few seconds: a save elsewhere on the same ClickHouse.
   */
  settingsPollMs?: number;
  /**
   * On the embedded store, this process's ingest (its only writer): it tells which trees it stored as it stores
   * them, and the activity index is read only to catch up. Absent: every tick reads the index.
   */
  stored?: StoredTrees;
  now?: () => number;
}

export interface TickReport {
  /** Traces with new spans found this tick. */
  touched: number;
  evaluated: number;
  spans: number;
  /** Of those, spans of trees an ingest worker judged as they arrived (not read from storage). */
  streamedSpans: number;
  alertsWritten: number;
  notices: number;
  /** Trees left for the next tick (the per-tick budget, or a big tree's cadence). */
  pending: number;
  /** The tick stopped at its budget (spans or time) with trees still due: a backlog. */
  backlog: boolean;
  ms: number;
}

interface Watermark {
  activity: ActivityMark;
  /** Quiet running trees were looked for up to this ingest time. */
  stallMs: number;
  /** The service spend chart was judged up to the bucket ending here (ms). */
  spendMs?: number;
}

const STATE_WATERMARK = 'watermark';
// Inserts can become visible a moment after a later one: each tick reads again from a little before the
// watermark and skips trees whose newest activity it already judged.
const REREAD_MS = 2_000;
// On a first start over an existing store, judge the recent trees only, not the whole history.
const FIRST_LOOKBACK_MS = 5 * 60_000;
const TOUCHED_PAGE = 5_000;
const TOUCHED_PER_TICK = 50_000;
/** Spans loaded per tick, and per read: the tick's work is bounded whatever arrives. */
const SPANS_PER_TICK = 300_000;
const SPANS_PER_READ = 100_000;
const TREES_PER_READ = 200;
/**
 * Trees per batch, whatever they need: those an ingest worker judged are not read, so they count toward the
 * batch, not the read's limits (each read and each batch's lookups cost the engine ~the same for 5 trees as for
 * 200: a tick of 500 trees mostly judged in the stream is one batch, not three).
 */
const TREES_PER_BATCH = 5_000;
/**
 * A big tree is judged again only after spans / BIG_TREE_SPANS_PER_S seconds (100,000 spans: every 10 s): judging
 * one took ~3 s here with JSON rows (1 s to read, 1.6 s to parse and build, 0.3 s of rules), so it cannot hog the detector.
 */
const BIG_TREE_SPANS_PER_S = 10_000;
/** A tick stops taking trees after this long (a backlog is worked off over several ticks, each reporting). */
const TICK_WORK_MS = 1_000;
const STALL_SCAN_MS = 5_000;
const STALL_RECHECK_MS = 60_000;
const STALL_WATCH_MS = 24 * 3600_000;
const MEMORY_MAX = 200_000;
/**
 * The memory of judged trees is trimmed this often, not every tick: the trim visits every tree judged in the last
 * 20 s (~7,000 a second at full ingest), and walked by entries it made an array per tree, every tick (~18 MB of
 * garbage per 20 s on the event loop, whose every scavenge is a pause).
 */
const TRIM_MS = 5_000;
/**
 * The watermark and the finished trees' history rows are saved this often (and on stop). A crash loses no alert
 * (written at once) and no history (the trees after the saved watermark are judged again, and added again); each
 * save is two small inserts, engine time that ingest waits for.
 */
const PERSIST_MS = 15_000;
/** How long a stop waits for the tick in progress before abandoning it. */
const STOP_WAIT_MS = 2_000;

export type { TreeStream } from './stream-judgements';

const NONE_STORED: readonly StoredAlert[] = Object.freeze([]);

/** A kind of tree in a batch (service and root name), with its histories and the one it is judged against. */
interface KindHistory extends Kind {
  baseline: RootBaseline | null;
}

export class Detector {
  private readonly now: () => number;
  private readonly settings: DetectorSettingsStore;
  private readonly history: StoredHistory;
  private watermark: Watermark | null = null;
  private persistedAt = 0;
  private lastStallScan = 0;
  private trimmedAt = 0;
  /** Trees to judge: their newest activity (ms), in the order they came. */
  private readonly due = new Map<string, number>();
  /** The newest activity each tree was judged at. */
  private readonly judged = new Map<string, number>();
  /** Spans each tree had when last judged, and when it may be judged again. */
  private readonly size = new Map<string, number>();
  private readonly notBefore = new Map<string, number>();
  /** Quiet running trees to judge again (stall escalates with time alone): when. */
  private readonly stallWatch = new Map<string, { at: number; lastSeenMs: number }>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;
  private readonly deliveries = new Set<Promise<unknown>>();
  private readonly thread = new JudgeThread();
  /** Trees judged once more because their history grew in their own batch (never twice for that reason). */
  private readonly rejudged = new Set<string>();
  /**
   * Trees with an alert stored: read at start, grown with every alert this detector writes (the only writer of
   * new alerts; the API only changes the status of existing ones). The alerts of the other trees are not read:
   * reading them for every batch cost as much of the engine as reading the batch's spans.
   */
  private readonly alerted = new Set<string>();
  /** Finished trees' history rows not written yet (written with the watermark). */
  private readonly finishedToWrite: FinishedTree[] = [];
  /** The ingest workers' judgements of trees in the stream (null without a stream: every tree is read). */
  private readonly streamJudgements: StreamJudgements | null;
  /** The trees ingest stored, as told (null: the activity index every tick). */
  private readonly feed: StoredFeed | null;
  /** The activity index has been read up to the present since the feed started (or since it lost an export). */
  private caughtUp = false;
  /** The exports ingest stored, per tree, as the feed tells them (null: not told). */
  private readonly counts: StoredCounts | null;

  constructor(private readonly opts: DetectorOptions) {
    this.now = opts.now ?? Date.now;
    this.settings = new DetectorSettingsStore(opts.storage, opts.settingsPollMs ?? 0);
    this.history = new StoredHistory(opts.storage.client, () => this.settings.current.baseline.minTrees, this.now);
    this.counts = opts.stored ? new StoredCounts(this.now) : null;
    this.streamJudgements = opts.stream
      ? new StreamJudgements(opts.stream, {
          client: opts.storage.client,
          settings: () => this.settings.current,
          now: this.now,
          counts: this.counts,
          mustAsk: (traceId) => this.alerted.has(traceId),
        })
      : null;
    this.feed = opts.stored ? new StoredFeed(opts.stored, this.counts) : null;
  }

  /** The rule settings were saved (through this process's API): the next tick applies them. */
  ruleSettingsSaved(): void {
    this.settings.noteSaved();
  }

  /** Loads the state and starts ticking. */
  async start(): Promise<void> {
    await this.open();
    this.schedule(0);
  }

  /** Loads the settings, the watermark and what is owed to the webhook; ticks only when called (tests). */
  async open(): Promise<void> {
    // Told from now on; what was stored before, the first tick's read of the activity index finds.
    this.feed?.start();
    const [, , alerted] = await Promise.all([this.settings.refresh(), this.thread.start(), tracesWithAlerts(this.opts.storage.client)]);
    for (const id of alerted) this.alerted.add(id);
    const saved = await readState<Watermark>(this.opts.storage.client, STATE_WATERMARK);
    const now = this.now();
    this.watermark = saved ?? { activity: { lastSeenMs: now - FIRST_LOOKBACK_MS, traceId: '' }, stallMs: now };
    // The first tick's read of the index lists every tree stored since it starts (each then asked of storage);
    // what was stored before that ended by the newest activity there.
    if (this.counts) this.counts.start(await newestActivityBefore(this.opts.storage.client, this.watermark.activity.lastSeenMs - REREAD_MS));
    // Owed from before a restart: what was raised or escalated but never delivered.
    if (this.opts.notify) for (const a of await undeliveredAlerts(this.opts.storage.client)) this.deliver(a, a.notified ? 'escalated' : 'new');
    this.streamJudgements?.publish(now);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.streamJudgements?.stop();
    // A tick working off a backlog on the background-priority judge thread can take seconds on a busy machine:
    // past a short wait it is abandoned (closing the thread fails what it waits for), and the trees it had taken
    // go back to the queue, so the watermark saved below still covers them and a restart judges them.
    const running = this.running?.catch(() => undefined);
    await Promise.race([running, new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
    await this.thread.close();
    await running;
    await this.persist(true).catch(() => undefined);
    // Only now: the watermark saved above stays before every export still being stored (the feed knows them).
    this.feed?.stop();
  }

  /** Waits for the webhook deliveries in flight (tests). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.deliveries]);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const startedAt = performance.now();
      let rest = this.opts.tickMs;
      this.running = this.tick()
        .then((report) => {
          // Ticks start a period apart (not a period after the last one ended), so a tree's wait for its tick
          // does not grow by the tick's own duration. A backlog (a flood) is worked off in the background
          // instead: a period's rest after each tick that stopped at its budget, so ingest keeps the cores.
          if (!report.backlog) rest = Math.max(0, this.opts.tickMs - (performance.now() - startedAt));
          this.opts.onTick?.(report);
        })
        // A tick abandoned by a stop is not a failure.
        .catch((err) => this.stopped || this.opts.log({ event: 'detector_tick_failed', error: err instanceof Error ? err.message : String(err) }))
        .finally(() => {
          this.running = null;
          this.schedule(rest);
        });
    }, delayMs);
  }

  /** One pass: new activity, quiet trees, then as many due trees as the tick's budget allows. */
  async tick(): Promise<TickReport> {
    const started = performance.now();
    const now = this.now();
    await this.settings.refresh();
    this.streamJudgements?.noteSettings();
    const touched = await this.collectTouched();
    if (now - this.lastStallScan >= STALL_SCAN_MS) await this.collectQuiet(now);
    const report = await this.judgeDue(now);
    const spendWrites = await this.judgeServiceSpend(now);
    await this.persist(false);
    if (!this.stopped) this.streamJudgements?.publish(now);
    this.trimMemory(now);
    return { touched, ...report, alertsWritten: report.alertsWritten + spendWrites, pending: this.due.size, ms: performance.now() - started };
  }

  /** When a spend bucket has closed: each service's spend chart, an alert for an anomaly. */
  private async judgeServiceSpend(now: number): Promise<number> {
    const settings = this.settings.current;
    const bucketMs = settings.cost_spike.ewmaBucketMinutes * 60_000;
    const closed = Math.floor(now / bucketMs) * bucketMs;
    const wm = this.watermark!;
    if (wm.spendMs === undefined) wm.spendMs = closed; // a first start judges from the next bucket on
    if (closed <= wm.spendMs) return 0;
    wm.spendMs = closed;
    const found = await judgeServiceSpend(this.opts.storage.client, closed, settings);
    if (found.length === 0) return 0;
    const stored = await storedAlertsOf(this.opts.storage.client, found.map((f) => f.traceId));
    const writes: StoredAlert[] = [];
    for (const { traceId, finding } of found) {
      const mine = stored.filter((a) => a.traceId === traceId && a.branch === 'service');
      const diff = diffAlerts([finding], mine, { traceId, nowMs: now, version: () => nextAlertVersion(now), id: alertId });
      writes.push(...diff.writes);
      for (const n of diff.notices) this.deliver(n.alert, n.change);
    }
    await this.writeAlerts(writes);
    return writes.length;
  }

  /** Trees with new spans: told by ingest, or read from the activity index until caught up. */
  private async collectTouched(): Promise<number> {
    if (!this.feed || !this.caughtUp) return this.readTouched();
    const wm = this.watermark!;
    const { trees, lostFromMs } = this.feed.take();
    for (const [traceId, ms] of trees) {
      // Told of means new spans stored: due, whenever it was last judged (ingest times of two inserts can tie).
      const due = this.due.get(traceId);
      this.due.delete(traceId); // re-queued at the end: a busy tree does not starve the others
      this.streamJudgements?.forget(traceId);
      this.due.set(traceId, due === undefined || ms > due ? ms : due);
      if (ms > wm.activity.lastSeenMs) wm.activity = { lastSeenMs: ms, traceId: '' };
    }
    if (lostFromMs === null) return trees.size;
    // An export was stored untold: the index from there on, as at the start.
    this.caughtUp = false;
    if (lostFromMs - 1 < wm.activity.lastSeenMs) wm.activity = { lastSeenMs: lostFromMs - 1, traceId: '' };
    return trees.size + (await this.readTouched());
  }

  private async readTouched(): Promise<number> {
    const wm = this.watermark!;
    let since: ActivityMark = { lastSeenMs: wm.activity.lastSeenMs - REREAD_MS, traceId: '' };
    let found = 0;
    for (let read = 0; read < TOUCHED_PER_TICK; read += TOUCHED_PAGE) {
      const page = await tracesTouchedSince(this.opts.storage.client, since, TOUCHED_PAGE);
      for (const t of page.traces) {
        // Stored while the feed may not have told of it: the workers' judgements of it are checked against storage.
        this.counts?.uncount(t.traceId);
        if ((this.judged.get(t.traceId) ?? -1) >= t.lastSeenMs) continue;
        if ((this.due.get(t.traceId) ?? -1) >= t.lastSeenMs) continue;
        this.due.delete(t.traceId); // re-queued at the end: a busy tree does not starve the others
        this.streamJudgements?.forget(t.traceId); // it has spans the workers' judgement did not see
        this.due.set(t.traceId, t.lastSeenMs);
        found++;
      }
      since = page.watermark;
      if (since.lastSeenMs > wm.activity.lastSeenMs || (since.lastSeenMs === wm.activity.lastSeenMs && since.traceId > wm.activity.traceId)) {
        wm.activity = since;
      }
      if (page.traces.length < TOUCHED_PAGE) {
        // Up to the present: what is stored from here on is told (the feed listened since before this read).
        this.caughtUp = true;
        break;
      }
    }
    return found;
  }

  /** Running trees that went quiet past the idle limit, and those already watched for their stall to grow. */
  private async collectQuiet(now: number): Promise<void> {
    this.lastStallScan = now;
    const cfg = this.settings.current.stall;
    if (!cfg.enabled) return;
    const wm = this.watermark!;
    const to = now - cfg.idleMinutes * 60_000;
    if (to > wm.stallMs) {
      for (const t of await quietRunningTrees(this.opts.storage.client, wm.stallMs, to, 10_000)) {
        this.stallWatch.set(t.traceId, { at: now, lastSeenMs: t.lastSeenMs });
      }
      wm.stallMs = to;
    }
    for (const [traceId, w] of this.stallWatch) {
      if (w.at > now) continue;
      if (now - w.lastSeenMs > STALL_WATCH_MS) this.stallWatch.delete(traceId);
      else if (!this.due.has(traceId)) this.due.set(traceId, w.lastSeenMs);
    }
  }

  private async judgeDue(now: number): Promise<Omit<TickReport, 'touched' | 'pending' | 'ms'>> {
    const out = { evaluated: 0, spans: 0, streamedSpans: 0, alertsWritten: 0, notices: 0, backlog: false };
    let budget = SPANS_PER_TICK;
    const started = performance.now();
    const batch: [string, number][] = [];
    let batchSpans = 0;
    let batchReads = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const taken = batch.splice(0);
      let r: Awaited<ReturnType<Detector['judge']>>;
      try {
        r = await this.judge(taken, now);
      } catch (err) {
        // Not judged (storage failed, or the detector is stopping): queued again, judged on a later tick.
        for (const [traceId, lastSeenMs] of taken) {
          this.judged.delete(traceId);
          if (!this.due.has(traceId)) this.due.set(traceId, lastSeenMs);
        }
        throw err;
      }
      out.evaluated += r.evaluated;
      out.spans += r.spans;
      out.streamedSpans += r.streamedSpans;
      out.alertsWritten += r.alertsWritten;
      out.notices += r.notices;
      batchSpans = 0;
      batchReads = 0;
    };
    // This tick's trees: the longest waiting first, up to the tick's span budget.
    const picked: [string, number][] = [];
    for (const [traceId, lastSeenMs] of this.due) {
      if (budget <= 0) {
        out.backlog = true;
        break;
      }
      if ((this.notBefore.get(traceId) ?? 0) > now) continue;
      picked.push([traceId, lastSeenMs]);
      budget -= Math.max(1, this.size.get(traceId) ?? 1);
    }
    // Read in trace id order, the spans table's key: each read's trees then sit in a narrow key range, a few
    // neighbouring granules of each part. In arrival order every read of 200 trees touched most granules of
    // every part (each granule holds thousands of traces' rows), and the next read touched them again.
    picked.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    // One check of the whole tick's trees judged in the stream (a read per batch cost as much as the spans it saved).
    await this.streamJudgements?.check(picked.map(([id]) => id));
    for (const [traceId, lastSeenMs] of picked) {
      if (this.stopped) break;
      if (performance.now() - started > TICK_WORK_MS) {
        // The rest stay due, for the next tick.
        out.backlog = true;
        break;
      }
      this.due.delete(traceId);
      batch.push([traceId, lastSeenMs]);
      if (!this.streamJudgements?.checked(traceId)) {
        batchReads++;
        batchSpans += Math.max(1, this.size.get(traceId) ?? 1);
      }
      if (batchReads >= TREES_PER_READ || batchSpans >= SPANS_PER_READ || batch.length >= TREES_PER_BATCH) await flush();
    }
    await flush();
    return out;
  }

  /** Loads, judges and stores the outcome for a batch of trees (the CPU work on the judge thread). */
  private async judge(batch: [string, number][], now: number) {
    const { storage } = this.opts;
    const settings = this.settings.current;
    const ids = batch.map(([id]) => id);
    const lastSeen = new Map<string, number>();
    for (const [id, ms] of batch) {
      lastSeen.set(id, ms);
      this.judged.set(id, ms);
    }
    const withAlerts = ids.filter((id) => this.alerted.has(id));
    // Each kind's histories, looked up once for the batch (a batch holds hundreds of trees of a few kinds), by the
    // check of the stream's judgements and by the judging below: the kinds not looked up yet are read from storage
    // in one go, then each tree reads its kind's without awaiting (an await per tree cost more than the rest of
    // checking a tree judged in the stream).
    const kinds = new KindMap<KindHistory>();
    const lookUpKinds = async (trees: Iterable<{ serviceName: string; rootName: string }>): Promise<void> => {
      const fresh = new KindMap<{ serviceName: string; rootName: string }>();
      for (const { serviceName, rootName } of trees) {
        if (!kinds.get(serviceName, rootName) && !fresh.get(serviceName, rootName)) fresh.set(serviceName, rootName, { serviceName, rootName });
      }
      if (fresh.size === 0) return;
      await this.history.prefetch([...fresh.values()]);
      // A kind's history is summarised again here when it changed 15 s ago or more, and the kinds of a busy Canopy
      // all changed at once: dozens of summaries in one go held the event loop 40–80 ms every 15 s at full ingest.
      const slices = new EventLoopSlices();
      for (const { serviceName, rootName } of fresh.values()) {
        if (slices.due()) await slices.pause();
        const own = rootName ? await this.history.rootName(serviceName, rootName) : null;
        const service = await this.history.service(serviceName);
        kinds.set(serviceName, rootName, { serviceName, rootName, histories: { rootName: own, service }, baseline: chooseBaseline(own, service, settings) });
      }
    };
    const kindOf = (serviceName: string, rootName: string): KindHistory => kinds.get(serviceName, rootName)!;
    const streamed = this.streamJudgements
      ? await this.streamJudgements.standing(ids, settings, lookUpKinds, (serviceName, rootName) => kindOf(serviceName, rootName).baseline)
      : new Map<string, StreamJudged>();
    const toRead = streamed.size > 0 ? ids.filter((id) => !streamed.has(id)) : ids;
    const [bytes, stored] = await Promise.all([
      toRead.length > 0 ? spanRowsOfTrees(storage.client, toRead) : null,
      withAlerts.length > 0 ? storedAlertsOf(storage.client, withAlerts) : [],
    ]);
    // Trees absent here expired, or are not visible yet: their next activity brings them back.
    // The judge thread is sent the activity of the trees it reads only (most of a batch was judged in the stream).
    const heads: TreeHead[] = bytes ? await this.thread.load(bytes, Object.fromEntries(toRead.map((id) => [id, lastSeen.get(id)!])), now) : [];
    for (const [traceId, j] of streamed) {
      heads.push({ traceId, serviceName: j.serviceName, rootName: j.rootName, running: false, lastSpanMs: j.lastSpanMs, spans: j.spans });
    }
    const storedBy = new Map<string, StoredAlert[]>();
    // The service chart's alerts are not the tree rules' to resolve.
    for (const a of stored) if (a.branch !== 'service') (storedBy.get(a.traceId) ?? storedBy.set(a.traceId, []).get(a.traceId)!).push(a);
    const writes: StoredAlert[] = [];
    const notices: AlertNotice[] = [];
    const finished: FinishedTree[] = [];
    let spanCount = 0;
    let streamedSpans = 0;
    // In the order they ended: a tree is judged against the trees of its kind that finished before it.
    heads.sort((a, b) => a.lastSpanMs - b.lastSpanMs);
    const budgetReads = this.opts.budgets ? this.readBudgets(ids, heads) : null;
    await lookUpKinds(heads);
    const headKinds = heads.map((head) => kindOf(head.serviceName, head.rootName));
    const baselines = headKinds.map((kind) => kind.baseline);
    // Told at once, before judging, not at the tick's end: a tick working off a backlog can take seconds, and
    // until the workers judge against the history the detector chooses every tree of that kind is read back.
    this.streamJudgements?.noteHistories(kinds.values());
    if (!this.stopped) this.streamJudgements?.publish(now);
    const judgements = await this.judgeLoaded(heads, baselines, streamed, settings);
    const [apiBudgets, startedBudgets] = budgetReads ? await budgetReads : [new Map<string, StoredBudget>(), new Map<string, number>()];
    const grew = new Set<KindHistory>();
    const slices = new EventLoopSlices();
    for (let i = 0; i < heads.length; i++) {
      if (slices.due()) await slices.pause();
      const head = heads[i];
      const judged = judgements[i];
      const { traceId } = head;
      spanCount += head.spans;
      if (streamed.has(traceId)) streamedSpans += head.spans;
      if (!judged) continue;
      const { stats } = judged;
      const overBudget = this.checkBudget(traceId, judged.spend, apiBudgets.get(traceId), startedBudgets.get(traceId));
      const findings: readonly Finding[] = overBudget.length === 0 ? judged.findings : [...judged.findings, ...overBudget];
      const storedOfTree = storedBy.get(traceId) ?? NONE_STORED;
      // Most trees: no finding, no alert stored, nothing to write.
      if (findings.length > 0 || storedOfTree.length > 0) {
        const diff = diffAlerts(findings, storedOfTree, { traceId, nowMs: now, version: () => nextAlertVersion(now), id: alertId });
        writes.push(...diff.writes);
        notices.push(...diff.notices);
      }
      this.size.set(traceId, head.spans);
      if (head.spans > BIG_TREE_SPANS_PER_S) this.notBefore.set(traceId, now + (head.spans / BIG_TREE_SPANS_PER_S) * 1000);
      else this.notBefore.delete(traceId);
      if (!stats) {
        // Still running: a quiet one is looked at again, without new spans, for its stall to grow.
        const stallCritical = findings.some((f) => f.rule === 'stall' && f.severity === 'critical');
        if (this.stallWatch.has(traceId) && !stallCritical) this.stallWatch.set(traceId, { at: now + STALL_RECHECK_MS, lastSeenMs: lastSeen.get(traceId)! });
        else if (stallCritical) this.stallWatch.delete(traceId);
      } else {
        this.stallWatch.delete(traceId);
        // A tree any rule flagged stays out of the baselines: runaways that raised only a warning would
        // otherwise lift the usual p99s (depth, duration, spend) until the next runaway of their kind passes
        // unseen (the live evaluation showed it with 2% of trees runaways).
        const flagged = findings.length > 0 || storedOfTree.length > 0;
        finished.push({ traceId, finishedMs: now, stats, runaway: flagged });
        if (!flagged) {
          this.history.add(traceId, stats);
          grew.add(headKinds[i]);
        }
      }
    }
    // The batch was judged at once, against the history as it stood before it. A finished tree whose own kind
    // had too little history then, and gained enough in this batch to be trusted (its predecessors arrived with
    // it), is judged once more on the next tick, so the tree that ends a series is judged against the series (one
    // an ingest worker judged too: it was judged against the same history). A kind that grew but is still short of
    // trust would be judged against what it was judged against: not again (such kinds, whose trees are often
    // flagged and kept out of their history, had every tree judged twice).
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i];
      const base = baselines[i];
      if (head.running || !head.rootName || (base?.scope === 'rootName') || this.rejudged.has(head.traceId)) continue;
      if (!grew.has(headKinds[i])) continue;
      if (slices.due()) await slices.pause();
      const own = await this.history.rootName(head.serviceName, head.rootName);
      if (!own || own.trees < settings.baseline.minTrees) continue;
      // A tree clean against the series too would be judged again for nothing (read back from storage, on a fresh
      // Canopy hundreds of trees a tick while its kinds gained trust).
      const judged = judgements[i];
      if (judged && cleanUnder(judged, own, settings)) continue;
      this.rejudged.add(head.traceId);
      this.judged.delete(head.traceId);
      this.due.set(head.traceId, lastSeen.get(head.traceId)!);
    }
    await this.tellGrownHistories(grew, now);
    await applyAutoKill(writes, settings, this.opts.killer, now, this.opts.log);
    await this.writeAlerts(writes);
    // History rows are written with the watermark (PERSIST_MS): one small insert per batch would make
    // the engine write and merge a part for each.
    this.finishedToWrite.push(...finished);
    if (this.finishedToWrite.length >= 10_000) await this.flushHistory();
    for (const n of notices) this.deliver(n.alert, n.change);
    return { evaluated: batch.length, spans: spanCount, streamedSpans, alertsWritten: writes.length, notices: notices.length };
  }

  /**
   * The kinds whose history grew in this batch, as they stand now, told to the workers: the next batch chooses
   * these. Told only as the batch began, a kind that gained trust in it (a fresh Canopy's first batch holds
   * dozens of trees of each kind) had every tree judged in the stream until the next batch against the history
   * it was short of, none standing. A trusted kind's summary is recomputed every 15 s at most: mostly the same.
   * As held in memory (the trees were just added there): no storage read for it.
   */
  private async tellGrownHistories(grew: ReadonlySet<KindHistory>, now: number): Promise<void> {
    if (!this.streamJudgements || grew.size === 0 || this.stopped) return;
    const kinds: Kind[] = [];
    const slices = new EventLoopSlices();
    for (const { serviceName, rootName } of grew) {
      // (each may summarise its history again: see lookUpKinds)
      if (slices.due()) await slices.pause();
      const held = this.history.held(serviceName, rootName);
      if (held.service === undefined || (rootName && held.rootName === undefined)) continue;
      kinds.push({ serviceName, rootName, histories: { rootName: held.rootName ?? null, service: held.service } });
    }
    this.streamJudgements.noteHistories(kinds);
    this.streamJudgements.publish(now);
  }

  /** The stream's judgements as they are; the rest judged on the judge thread. */
  private async judgeLoaded(heads: readonly TreeHead[], baselines: readonly (RootBaseline | null)[], streamed: ReadonlyMap<string, StreamJudged>, settings: DetectorSettings): Promise<(Judgement | null)[]> {
    const out: (Judgement | null)[] = heads.map((h) => streamed.get(h.traceId)?.judgement ?? null);
    const onThread: number[] = [];
    for (let i = 0; i < heads.length; i++) if (!streamed.has(heads[i].traceId)) onThread.push(i);
    if (onThread.length === 0) return out;
    const judged = await this.thread.judge(onThread.map((i) => ({ traceId: heads[i].traceId, baseline: baselines[i] })), settings);
    onThread.forEach((i, k) => (out[i] = judged[k]));
    return out;
  }

  /**
   * What the batch's budgets need from storage, and only that: budgets set through the API when any is in force,
   * and the attribute of spans reported at start for trees still running (a finished tree's root carries it).
   */
  private readBudgets(ids: string[], heads: readonly { traceId: string; running: boolean }[]): Promise<[Map<string, StoredBudget>, Map<string, number>]> {
    const { client } = this.opts.storage;
    const running = heads.filter((h) => h.running).map((h) => h.traceId);
    return Promise.all([
      this.opts.budgets!.anySetThroughApi() ? budgetsOf(client, ids) : new Map<string, StoredBudget>(),
      running.length ? startedSpanBudgets(client, running) : new Map<string, number>(),
    ]);
  }

  /** A tree past its budget (when it has one): the budget finding. Its spend is noted for the control API either way. */
  private checkBudget(traceId: string, spend: TreeSpend, api: StoredBudget | undefined, startedUsd: number | undefined): Finding[] {
    const budgets = this.opts.budgets;
    if (!budgets) return [];
    const attributeUsd = spend.attributeBudgetUsd ?? startedUsd ?? null;
    budgets.noteSpend(traceId, spend.costUsd, attributeUsd);
    const budget = budgets.resolve(traceId, api, attributeUsd);
    const found = budget && budgetFinding({ costUsd: spend.costUsd, rootSpanId: spend.rootSpanId, modelCalls: spend.modelCalls, ...budget });
    return found ? [found] : [];
  }

  private async writeAlerts(alerts: StoredAlert[]): Promise<void> {
    await storeAlerts(this.opts.storage, alerts, this.opts.retentionDays);
    for (const a of alerts) this.alerted.add(a.traceId);
  }

  /** Sends a notice without holding up detection; once delivered, the alert records what was delivered. */
  private deliver(alert: StoredAlert, change: AlertChange): void {
    if (!this.opts.notify) return;
    const p = this.opts
      .notify(alert, change)
      .then(async (ok) => {
        if (!ok) return;
        const current = await getAlert(this.opts.storage.client, alert.id);
        if (!current || (current.notified && severityRank(current.notified) >= severityRank(alert.severity))) return;
        await this.writeAlerts([{ ...current, notified: alert.severity, version: nextAlertVersion(this.now()) }]);
      })
      .catch((err) => this.opts.log({ event: 'detector_notify_failed', alertId: alert.id, error: err instanceof Error ? err.message : String(err) }))
      .finally(() => this.deliveries.delete(p));
    this.deliveries.add(p);
  }

  /**
   * Saves the watermark (every PERSIST_MS): no later than the oldest tree still waiting, so after a restart nothing
   * received is left unjudged (judging a tree twice changes nothing stored).
   */
  private async persist(force: boolean): Promise<void> {
    const now = this.now();
    if (!this.watermark || (!force && now - this.persistedAt < PERSIST_MS)) return;
    let oldest = this.watermark.activity;
    for (const ms of this.due.values()) if (ms - 1 < oldest.lastSeenMs) oldest = { lastSeenMs: ms - 1, traceId: '' };
    // Stored trees the feed holds, or inserts not told of yet, are stored after this.
    const held = this.feed ? this.feed.heldFromMs() : Infinity;
    if (held - 1 < oldest.lastSeenMs) oldest = { lastSeenMs: held - 1, traceId: '' };
    await this.flushHistory();
    await writeState(this.opts.storage, STATE_WATERMARK, { ...this.watermark, activity: oldest } satisfies Watermark, now);
    this.persistedAt = now;
  }

  private async flushHistory(): Promise<void> {
    const rows = this.finishedToWrite.splice(0);
    await recordFinishedTrees(this.opts.storage, rows, this.opts.retentionDays);
  }

  private trimMemory(now: number): void {
    if (now - this.trimmedAt < TRIM_MS) return;
    this.trimmedAt = now;
    // What was judged long ago can only come back as new activity, which the watermark finds anyway.
    const horizon = this.watermark!.activity.lastSeenMs - 10 * REREAD_MS;
    // (forEach: no array per entry)
    if (this.judged.size > 1000) {
      this.judged.forEach((ms, id) => {
        if (ms < horizon && !this.notBefore.has(id)) {
          this.judged.delete(id);
          this.size.delete(id);
        }
      });
    }
    for (const map of [this.judged, this.size, this.notBefore]) {
      if (map.size <= MEMORY_MAX) continue;
      for (const id of map.keys()) {
        map.delete(id);
        if (map.size <= MEMORY_MAX / 2) break;
      }
    }
    if (this.stallWatch.size > MEMORY_MAX) this.stallWatch.clear();
    if (this.rejudged.size > MEMORY_MAX) this.rejudged.clear();
    this.streamJudgements?.trim(MEMORY_MAX);
  }
}
