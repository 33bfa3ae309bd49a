import type { ResourceRow } from './types';

const REWRITE_AFTER_MS = 24 * 3600_000;
const MAX_REMEMBERED = 100_000;

/**
 * Stores each distinct resource once (and again daily while in use, ahead of its TTL) before the spans
 * that point to it are acknowledged. SDK instances are few and long-lived, so after warm-up almost every
 * request finds its resource remembered and costs no insert.
 */
export class ResourceRegistry {
  private readonly written = new Map<string, number>();
  private readonly pending = new Map<string, Promise<void>>();

  constructor(private readonly insert: (payload: Buffer) => Promise<void>) {}

  async ensure(resources: ReadonlyMap<string, ResourceRow>): Promise<void> {
    const now = Date.now();
    const waits: Promise<void>[] = [];
    const fresh: ResourceRow[] = [];
    for (const r of resources.values()) {
      const inFlight = this.pending.get(r.resource_id);
      if (inFlight) waits.push(inFlight);
      else if (now - (this.written.get(r.resource_id) ?? -Infinity) > REWRITE_AFTER_MS) fresh.push(r);
    }
    if (fresh.length > 0) {
      const payload = Buffer.from(fresh.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const write = this.insert(payload).then(() => {
        for (const r of fresh) this.remember(r.resource_id, now);
      });
      for (const r of fresh) this.pending.set(r.resource_id, write);
      waits.push(write.finally(() => fresh.forEach((r) => this.pending.delete(r.resource_id))));
    }
    await Promise.all(waits);
  }

  private remember(id: string, at: number) {
    this.written.delete(id);
    this.written.set(id, at);
    // Map keeps insertion order: the first key is the least recently written.
    if (this.written.size > MAX_REMEMBERED) this.written.delete(this.written.keys().next().value!);
  }
}
