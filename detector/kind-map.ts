// Values per kind of tree (service and root name), looked up by the two names as they are: a key made by joining
// them was a new string, hashed anew, for every tree judged (several per tree at full ingest, ~1,000 trees a second).
export class KindMap<T> {
  private readonly byService = new Map<string, Map<string, T>>();
  private count = 0;

  get(serviceName: string, rootName: string): T | undefined {
    return this.byService.get(serviceName)?.get(rootName);
  }

  set(serviceName: string, rootName: string, value: T): void {
    let roots = this.byService.get(serviceName);
    if (!roots) this.byService.set(serviceName, (roots = new Map()));
    if (!roots.has(rootName)) this.count++;
    roots.set(rootName, value);
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.byService.clear();
    this.count = 0;
  }

  *values(): IterableIterator<T> {
    for (const roots of this.byService.values()) yield* roots.values();
  }
}
