// Watches the Canopy process from outside: RSS from /proc every 100 ms, and its own /metrics (event-loop lag,
// queue depth, insert sizes) every second.

import fs from 'node:fs';
import http from 'node:http';

export function readProcStatus(pid: number): { rssKiB: number; hwmKiB: number } | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM') };
  } catch {
    return null;
  }
}

/** CPU time (user + system) the process has used so far, in seconds. */
export function readCpuSeconds(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // after "pid (comm) ": state=0, ..., utime=11, stime=12 (in clock ticks, 100/s on Linux)
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

export class RssSampler {
  samples: { t: number; rssKiB: number }[] = [];
  peakKiB = 0;
  hwmKiB = 0;
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

export function httpGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    if (u.hostname !== '127.0.0.1') return reject(new Error(`benchmark traffic goes to 127.0.0.1 only, not ${u.hostname}`));
    const req = http.get(u, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - started }));
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
