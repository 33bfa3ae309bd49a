import 'server-only';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { NOT_KILLED, controlAnswer, KILL_REASON_MAX_CHARS, type ControlAnswer, type Kill, type KillEvent, type KillSource } from '../domain';
import type { Storage } from './storage/storage';
import type { Log } from './services';
import { getRuntime } from './runtime';
import { ChangePoller } from './change-poller';
import { activeKills, killsChangedWithin, nextKillVersion, spanParents, storedKill, writeKill, type StoredKill } from './queries/kills';

// The kills in force, in memory: the control API answers running agents from here without a query (it is on
// their hot path), the trace detail and list mark killed trees from here, and every kill and revive is pushed
// to the event stream's subscribers. Storage is the truth shared by every Canopy process on one ClickHouse
// server: a kill is written before it is applied here, and each process polls the others' twice a second
// (change-poller.ts), so a kill posted to any process is enforced by all within 1 s.
/** A branch kill's trace has its stored parents read again at most this often when a span is not in them yet. */
const PARENTS_FRESH_MS = 250;
/** Parents of at most this many spans per trace, and in all (~100 bytes each), are kept; the least recently used trace's go first. */
const PARENTS_MAX_SPANS = 200_000;
const PARENTS_MAX_TOTAL = 1_000_000;
/** Events kept for a subscriber that reconnects with `Last-Event-ID`. */
const RECENT_EVENTS = 1_000;

export interface HubEvent {
  /** `<hub>.<sequence>`: a reconnecting stream resumes after it, on the same process. */
  id: string;
  event: KillEvent;
}

interface TraceKills {
  tree: StoredKill | null;
  branches: Map<string, StoredKill>;
}

interface Parents {
  map: Map<string, string>;
  loadedAt: number;
  loading: Promise<void> | null;
}

const keyOf = (traceId: string, spanId: string | null) => `${traceId}/${spanId ?? ''}`;

export function publicKill(k: StoredKill): Kill {
  const { version: _v, ...kill } = k;
  return kill;
}

export class KillHub {
  private readonly byTrace = new Map<string, TraceKills>();
  /** The newest version applied per key, revived keys included: an older row read late never undoes a newer one. */
  private readonly versions = new Map<string, number>();
  private readonly parents = new Map<string, Parents>();
  private readonly emitter = new EventEmitter();
  private readonly recent: HubEvent[] = [];
  private readonly hubId = randomBytes(4).toString('hex');
  private sequence = 0;
  private readonly pendingKills = new Map<string, Promise<{ kill: Kill; created: boolean }>>();
  /** Spans in all the cached parent maps. */
  private parentSpans = 0;
  private readonly poller: ChangePoller;

  constructor(private readonly deps: { storage: Storage; retentionDays: number; log: Log }) {
    // One listener per open event stream: their number is bounded by the connections Canopy takes.
    this.emitter.setMaxListeners(0);
    this.poller = new ChangePoller(
      {
        reload: () => this.reload(),
        changedWithin: async (ms) => {
          for (const kill of await killsChangedWithin(this.deps.storage.client, ms)) this.apply(kill);
        },
      },
      'kill',
      deps.log,
    );
  }

  async start(): Promise<void> {
    // The embedded engine's data directory is held by this process alone: no other process writes kills there.
    await this.poller.start(this.deps.storage.backend === 'server');
  }

  async stop(): Promise<void> {
    await this.poller.stop();
    // Open event streams end, so their connections do not hold the HTTP server open.
    this.emitter.emit('close');
  }

  /** Kills a tree (`spanId` null) or the branch under `spanId`; a kill already in force is answered as it is. */
  kill(input: { traceId: string; spanId: string | null; reason: string; source: KillSource; alertId?: string | null }): Promise<{ kill: Kill; created: boolean }> {
    const existing = this.activeKill(input.traceId, input.spanId);
    if (existing) return Promise.resolve({ kill: publicKill(existing), created: false });
    // The same kill asked twice at once (a double click, an agent and a person) is written once.
    const key = keyOf(input.traceId, input.spanId);
    const pending = this.pendingKills.get(key);
    if (pending) return pending.then(({ kill }) => ({ kill, created: false }));
    const done = this.create(input).finally(() => this.pendingKills.delete(key));
    this.pendingKills.set(key, done);
    return done;
  }

  private async create(input: { traceId: string; spanId: string | null; reason: string; source: KillSource; alertId?: string | null }): Promise<{ kill: Kill; created: boolean }> {
    const now = Date.now();
    const kill: StoredKill = {
      traceId: input.traceId,
      spanId: input.spanId,
      scope: input.spanId ? 'branch' : 'tree',
      reason: input.reason.slice(0, KILL_REASON_MAX_CHARS),
      source: input.source,
      alertId: input.alertId ?? null,
      createdAt: new Date(now).toISOString(),
      revokedAt: null,
      active: true,
      version: nextKillVersion(now),
    };
    // Stored first: a kill this process enforces is one every other process will enforce too.
    await writeKill(this.deps.storage, kill, this.deps.retentionDays);
    this.apply(kill);
    return { kill: publicKill(kill), created: true };
  }

  /** Revives a killed tree or branch; null when no kill of that key is in force (here or, just posted, elsewhere). */
  async revive(traceId: string, spanId: string | null): Promise<Kill | null> {
    let current = this.activeKill(traceId, spanId);
    // Posted to another process less than a poll ago: storage already knows it.
    if (!current) {
      const stored = await storedKill(this.deps.storage.client, traceId, spanId);
      if (stored?.active) current = stored;
    }
    if (!current) return null;
    const now = Date.now();
    const revived: StoredKill = { ...current, active: false, revokedAt: new Date(now).toISOString(), version: Math.max(nextKillVersion(now), current.version + 1) };
    await writeKill(this.deps.storage, revived, this.deps.retentionDays);
    this.apply(revived);
    return publicKill(revived);
  }

  /** The kills in force on a trace, the whole tree's first. */
  killsOf(traceId: string): Kill[] {
    const kills = this.byTrace.get(traceId);
    if (!kills) return [];
    const out = [...kills.branches.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map(publicKill);
    return kills.tree ? [publicKill(kills.tree), ...out] : out;
  }

  isTreeKilled(traceId: string): boolean {
    return Boolean(this.byTrace.get(traceId)?.tree);
  }

  /**
   * May this tree (no `spanId`), or this span, go on? A tree kill covers every span; a branch kill covers its
   * span and every span below it: found among `ancestors` (span ids the caller knows above it), or by walking
   * the trace's stored parents. A trace with no kill, the common case, is answered from one map lookup; only a
   * trace with branch kills ever reads storage, at most every PARENTS_FRESH_MS and one read at a time.
   */
  control(traceId: string, spanId: string | null, ancestors: readonly string[] = []): ControlAnswer | Promise<ControlAnswer> {
    const kills = this.byTrace.get(traceId);
    if (!kills) return NOT_KILLED;
    if (kills.tree) return controlAnswer(kills.tree);
    if (!spanId) return NOT_KILLED;
    const starts = [spanId, ...ancestors];
    for (const id of starts) {
      const kill = kills.branches.get(id);
      if (kill) return controlAnswer(kill);
    }
    const known = this.parents.get(traceId);
    const walked = known ? walkUp(known.map, starts, kills.branches) : { kill: null, complete: false };
    if (walked.kill) return controlAnswer(walked.kill);
    // Every chain reached a root: nothing stored since can put one of these spans below a killed branch.
    if (walked.complete || (known && Date.now() - known.loadedAt < PARENTS_FRESH_MS)) return NOT_KILLED;
    return this.loadParents(traceId).then(() => {
      const now = this.byTrace.get(traceId);
      const loaded = this.parents.get(traceId);
      if (!now) return NOT_KILLED;
      if (now.tree) return controlAnswer(now.tree);
      const kill = loaded ? walkUp(loaded.map, starts, now.branches).kill : null;
      return kill ? controlAnswer(kill) : NOT_KILLED;
    });
  }

  /** Every kill and revive from now on, this process's and the others' (learned by polling). Returns the unsubscribe. */
  subscribe(listener: (e: HubEvent) => void, onClose: () => void): () => void {
    this.emitter.on('event', listener);
    this.emitter.once('close', onClose);
    return () => {
      this.emitter.off('event', listener);
      this.emitter.off('close', onClose);
    };
  }

  /** The events after `id`, when it is one of this hub's recent ones; null when it is not (restart, another process, too old). */
  eventsAfter(id: string): HubEvent[] | null {
    const at = this.recent.findIndex((e) => e.id === id);
    if (at >= 0) return this.recent.slice(at + 1);
    const [hub, seq] = id.split('.');
    return hub === this.hubId && Number(seq) === this.sequence ? [] : null;
  }

  private activeKill(traceId: string, spanId: string | null): StoredKill | undefined {
    const kills = this.byTrace.get(traceId);
    if (!kills) return undefined;
    return (spanId ? kills.branches.get(spanId) : kills.tree) ?? undefined;
  }

  /** Applies a kill's newest state (from this process or from storage), once, and tells the subscribers. */
  private apply(kill: StoredKill): void {
    const key = keyOf(kill.traceId, kill.spanId);
    if (kill.version <= (this.versions.get(key) ?? -1)) return;
    this.versions.set(key, kill.version);
    const wasActive = Boolean(this.activeKill(kill.traceId, kill.spanId));
    let kills = this.byTrace.get(kill.traceId);
    if (kill.active) {
      if (!kills) this.byTrace.set(kill.traceId, (kills = { tree: null, branches: new Map() }));
      if (kill.spanId) kills.branches.set(kill.spanId, kill);
      else kills.tree = kill;
    } else if (kills) {
      if (kill.spanId) kills.branches.delete(kill.spanId);
      else kills.tree = null;
      if (kills.branches.size === 0) this.dropParents(kill.traceId);
      if (!kills.tree && kills.branches.size === 0) this.byTrace.delete(kill.traceId);
    }
    if (kill.active !== wasActive) this.publish({ type: kill.active ? 'kill' : 'revive', kill: publicKill(kill) });
  }

  private publish(event: KillEvent): void {
    const e: HubEvent = { id: `${this.hubId}.${++this.sequence}`, event };
    this.recent.push(e);
    if (this.recent.length > RECENT_EVENTS) this.recent.shift();
    this.deps.log({ event: event.type === 'kill' ? 'killed' : 'revived', traceId: event.kill.traceId, spanId: event.kill.spanId, source: event.kill.source });
    this.emitter.emit('event', e);
  }

  /** Reads every kill in force; keys in force here but no longer in storage were revived meanwhile. */
  private async reload(): Promise<void> {
    const found = await activeKills(this.deps.storage.client);
    const inForce = new Set(found.map((k) => keyOf(k.traceId, k.spanId)));
    for (const kills of [...this.byTrace.values()]) {
      for (const kill of [kills.tree, ...kills.branches.values()]) {
        if (kill && !inForce.has(keyOf(kill.traceId, kill.spanId))) this.apply({ ...kill, active: false, revokedAt: new Date().toISOString(), version: kill.version + 1 });
      }
    }
    for (const kill of found) this.apply(kill);
  }

  /** Reads a trace's stored parents, one read at a time per trace; a failed read leaves what was known. */
  private loadParents(traceId: string): Promise<void> {
    const current = this.parents.get(traceId);
    if (current?.loading) return current.loading;
    const entry: Parents = current ?? { map: new Map(), loadedAt: 0, loading: null };
    const startedAt = Date.now();
    entry.loading = spanParents(this.deps.storage.client, traceId, PARENTS_MAX_SPANS)
      .then((map) => {
        // Dropped meanwhile (its branch kills were revived): no longer counted.
        if (this.parents.get(traceId) === entry) this.parentSpans += map.size - entry.map.size;
        entry.map = map;
        entry.loadedAt = startedAt;
        this.evictParents();
      })
      .catch((err: unknown) => {
        entry.loadedAt = startedAt; // not again at once: a failing store would be asked by every call
        this.deps.log({ event: 'kill_parents_failed', traceId, error: err instanceof Error ? err.message : String(err) });
      })
      .finally(() => (entry.loading = null));
    // Most recently used last: the oldest trace's parents go first.
    this.parents.delete(traceId);
    this.parents.set(traceId, entry);
    return entry.loading;
  }

  private dropParents(traceId: string): void {
    const entry = this.parents.get(traceId);
    if (!entry) return;
    this.parentSpans -= entry.map.size;
    this.parents.delete(traceId);
  }

  private evictParents(): void {
    for (const traceId of this.parents.keys()) {
      if (this.parentSpans <= PARENTS_MAX_TOTAL || this.parents.size <= 1) return;
      this.dropParents(traceId);
    }
  }
}

/**
 * Walks up from each start through the stored parents until a killed branch, a root or an unknown span.
 * `complete`: some chain reached a root (the starts are one chain, so the span's whole ancestry is known).
 */
function walkUp(parents: Map<string, string>, starts: readonly string[], branches: Map<string, StoredKill>): { kill: StoredKill | null; complete: boolean } {
  let complete = false;
  const seen = new Set<string>();
  for (const start of starts) {
    let id = start;
    // A parent cycle (bad data) ends at a span already walked.
    while (!seen.has(id)) {
      seen.add(id);
      const parent = parents.get(id);
      if (parent === undefined) break;
      if (parent === '') {
        complete = true;
        break;
      }
      const kill = branches.get(parent);
      if (kill) return { kill, complete: true };
      id = parent;
    }
  }
  return { kill: null, complete };
}

/** The kill hub as a service of server.ts: started after storage, reached by the route handlers through the runtime. */
export async function startKillHub(deps: { storage: Storage; retentionDays: number; log: Log }): Promise<KillHub> {
  const hub = new KillHub(deps);
  await hub.start();
  getRuntime().kills = hub;
  return hub;
}
