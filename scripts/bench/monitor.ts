// Watches the Canopy process from outside: RSS from /proc every 100 ms, and its own /metrics (event-loop lag,
// queue depth, insert sizes) every second.

import fs from 'node:fs';
import http from 'node:http';
import zlib from 'node:zlib';

export function readProcStatus(pid: number): { rssKiB: number; hwmKiB: number; anonKiB: number; fileKiB: number } | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM'), anonKiB: kib('RssAnon'), fileKiB: kib('RssFile') };
  } catch {
    return null;
  }
}

/** CPU time (user + system) the process has used so far, in seconds. */
export function readCpuSeconds(pid: number): number {
  try {
    return statCpuSeconds(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return NaN;
  }
}

/** User + system CPU seconds of a /proc stat line (a process's or a thread's). */
function statCpuSeconds(stat: string): number {
  // after "pid (comm) ": state=0, ..., utime=11, stime=12 (in clock ticks, 100/s on Linux); comm may hold ") "
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Each thread's CPU so far (seconds), by thread id, with its name (/proc/<pid>/task/<tid>/comm). */
export type ThreadCpu = Map<string, { name: string; s: number }>;

export function readThreadCpu(pid: number): ThreadCpu {
  const out: ThreadCpu = new Map();
  let tids: string[] = [];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      out.set(tid, { name: tid === String(pid) ? '' : name, s: statCpuSeconds(stat) });
    } catch {
      // (the thread ended)
    }
  }
  return out;
}

/** CPU seconds between two readings by part of Canopy, as thread names tell them apart. */
export interface CpuParts {
  /** The main thread: the event loop (HTTP, the detector's ticks). */
  eventLoop: number;
  /** Node's other threads, which Node names all alike: the ingest workers, the judge thread, V8's and libuv's helpers. */
  workers: number;
  /** The embedded ClickHouse's threads (named by the engine: queries and inserts, merges, its schedulers). */
  engine: number;
}

export function cpuParts(before: ThreadCpu, after: ThreadCpu): CpuParts {
  const parts: CpuParts = { eventLoop: 0, workers: 0, engine: 0 };
  for (const [tid, { name, s }] of after) {
    const used = s - (before.get(tid)?.s ?? 0);
    if (name === '') parts.eventLoop += used;
    else if (name === 'node') parts.workers += used;
    else parts.engine += used;
  }
  return parts;
}

export class RssSampler {
  samples: { t: number; rssKiB: number }[] = [];
  peakKiB = 0;
  hwmKiB = 0;
  /** RSS split at the peak sample: anonymous (heap, engine) vs file-backed (mapped code, mostly the chDB library). */
  atPeak = { anonKiB: 0, fileKiB: 0 };
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly pid: number) {}

  start(intervalMs = 100): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    return this;
  }

  sample() {
    const s = readProcStatus(this.pid);
    if (!s) return;
    this.samples.push({ t: performance.now(), rssKiB: s.rssKiB });
    if (s.rssKiB > this.peakKiB) this.atPeak = { anonKiB: s.anonKiB, fileKiB: s.fileKiB };
    this.peakKiB = Math.max(this.peakKiB, s.rssKiB);
    this.hwmKiB = Math.max(this.hwmKiB, s.hwmKiB);
  }

  /** Peak of the samples taken since `since` (performance.now()). */
  peakSince(since: number): number {
    return this.samples.filter((s) => s.t >= since).reduce((m, s) => Math.max(m, s.rssKiB), 0);
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
  }
}

/** GET, reading the whole body (gunzipped if the server compressed it); `ms` is until the last byte arrived. */
export function httpGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; ms: number; wireBytes: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    if (u.hostname !== '127.0.0.1') return reject(new Error(`benchmark traffic goes to 127.0.0.1 only, not ${u.hostname}`));
    const req = http.get(u, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let wireBytes = 0;
      res.on('data', (d: Buffer) => {
        chunks.push(d);
        wireBytes += d.length;
      });
      res.on('end', () => {
        const ms = performance.now() - started;
        const raw = Buffer.concat(chunks);
        const enc = String(res.headers['content-encoding'] ?? '');
        const body = (enc === 'gzip' ? zlib.gunzipSync(raw) : enc === 'br' ? zlib.brotliDecompressSync(raw) : enc === 'deflate' ? zlib.inflateSync(raw) : raw).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body, ms, wireBytes });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Prometheus text → metric name (with labels) → value. */
export function parseProm(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/**
 * Scrapes /metrics every `intervalMs`. prom-client's event-loop lag histogram is reset on every scrape, so each
 * scrape's p99/max covers the interval since the previous one; the maxima over all scrapes are kept.
 */
export class MetricsScraper {
  lagP99MaxS = 0;
  lagMaxS = 0;
  lagMeanS: number[] = [];
  queueRowsMax = 0;
  heapTotalMaxB = 0;
  heapUsedMaxB = 0;
  externalMaxB = 0;
  scrapes = 0;
  failures = 0;
  last: Map<string, number> = new Map();
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<Map<string, number> | null> = Promise.resolve(null);

  constructor(private readonly url: string) {}

  start(intervalMs = 1000): this {
    void this.scrape(); // also resets the histogram so the window starts now
    this.timer = setInterval(() => void this.scrape(), intervalMs);
    return this;
  }

  /** One scrape, after any scrape already under way (never two at once). */
  scrape(): Promise<Map<string, number> | null> {
    this.current = this.current.then(() => this.scrapeOnce());
    return this.current;
  }

  private async scrapeOnce(): Promise<Map<string, number> | null> {
    try {
      const r = await httpGet(`${this.url}/metrics`);
      if (r.status !== 200) throw new Error(String(r.status));
      const m = parseProm(r.body);
      this.scrapes++;
      this.last = m;
      const p99 = m.get('canopy_nodejs_eventloop_lag_p99_seconds');
      const max = m.get('canopy_nodejs_eventloop_lag_max_seconds');
      const mean = m.get('canopy_nodejs_eventloop_lag_mean_seconds');
      if (p99 !== undefined && Number.isFinite(p99)) this.lagP99MaxS = Math.max(this.lagP99MaxS, p99);
      if (max !== undefined && Number.isFinite(max)) this.lagMaxS = Math.max(this.lagMaxS, max);
      if (mean !== undefined && Number.isFinite(mean)) this.lagMeanS.push(mean);
      this.queueRowsMax = Math.max(this.queueRowsMax, m.get('canopy_ingest_queue_rows') ?? 0);
      this.heapTotalMaxB = Math.max(this.heapTotalMaxB, m.get('canopy_nodejs_heap_size_total_bytes') ?? 0);
      this.heapUsedMaxB = Math.max(this.heapUsedMaxB, m.get('canopy_nodejs_heap_size_used_bytes') ?? 0);
      this.externalMaxB = Math.max(this.externalMaxB, m.get('canopy_nodejs_external_memory_bytes') ?? 0);
      return m;
    } catch {
      this.failures++;
      return null;
    }
  }

  reset() {
    this.lagP99MaxS = 0;
    this.lagMaxS = 0;
    this.lagMeanS = [];
    this.queueRowsMax = 0;
    this.heapTotalMaxB = 0;
    this.heapUsedMaxB = 0;
    this.externalMaxB = 0;
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** Sum of a histogram's _sum and _count (no labels) from a parsed scrape. */
export function histogram(m: Map<string, number>, name: string): { sum: number; count: number } {
  return { sum: m.get(`${name}_sum`) ?? 0, count: m.get(`${name}_count`) ?? 0 };
}

/** Busy CPU time of the whole machine so far (all cores, seconds), from /proc/stat. */
export function machineBusySeconds(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice (guest is already in user)
  const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
  return busy / 100;
}

/**
 * CPU used on this machine by processes other than `pids` and this one, between start() and stop(), in cores:
 * the benchmark shares 2 cores with whatever else runs, and says so.
 */
export class ForeignLoad {
  private busy0 = 0;
  private own0 = 0;
  private t0 = 0;
  constructor(private readonly pids: () => number[]) {}
  private own(): number {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6 + this.pids().reduce((n, p) => n + (readCpuSeconds(p) || 0), 0);
  }
  start(): this {
    this.busy0 = machineBusySeconds();
    this.own0 = this.own();
    this.t0 = performance.now();
    return this;
  }
  /** Cores used by others since start(). */
  read(): number {
    const secs = (performance.now() - this.t0) / 1000;
    return Math.max(0, (machineBusySeconds() - this.busy0 - (this.own() - this.own0)) / secs);
  }
}

/** Waits (up to `maxMs`) until other processes use less than `cores` for a 3 s window; returns the last reading. */
export async function waitForQuiet(cores: number, maxMs: number, onWait: (load: number) => void): Promise<number> {
  const deadline = performance.now() + maxMs;
  for (;;) {
    const f = new ForeignLoad(() => []).start();
    await new Promise((r) => setTimeout(r, 3000));
    const load = f.read();
    if (load < cores || performance.now() > deadline) return load;
    onWait(load);
  }
}

/** GETs `url` every `intervalMs` (one at a time) and keeps the latencies: how responsive the UI/API is under load. */
export class Prober {
  ms: number[] = [];
  failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(private readonly url: string) {}

  start(intervalMs = 250): this {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      httpGet(this.url)
        .then((r) => (r.status === 200 ? this.ms.push(r.ms) : this.failures++))
        .catch(() => this.failures++)
        .finally(() => (this.busy = false));
    }, intervalMs);
    return this;
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
