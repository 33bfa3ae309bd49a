// Seeded randomness: every tree draws from its own stream derived from (seed, scenario, role, index),
// so adding a scenario to a run or reordering trees never changes the shape or ids of another tree.

/** cyrb128: a fast string hash giving four 32-bit words, good enough to seed sfc32. */
function hash128(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044597);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044597);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** sfc32 PRNG: small state, passes PractRand far beyond what a simulator needs. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(key: string) {
    [this.a, this.b, this.c, this.d] = hash128(key);
    // Discard the first outputs: sfc32 is weakly mixed right after seeding.
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** A child stream: drawing from it does not disturb this stream's sequence. */
  fork(label: string): Rng {
    return new Rng(`${this.uint32()}:${label}`);
  }

  uint32(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  float(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((sum, [, w]) => sum + w, 0);
    let r = this.next() * total;
    for (const [item, w] of items) {
      r -= w;
      if (r < 0) return item;
    }
    return items[items.length - 1]![0];
  }

  /** Log-normal around `median`: token counts and latencies have long right tails. */
  around(median: number, spread = 0.35): number {
    const u1 = Math.max(this.next(), 1e-12);
    const u2 = this.next();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    return median * Math.exp(spread * z);
  }

  /** `bytes` random bytes as lowercase hex, never all zero (OTLP treats all-zero ids as invalid). */
  hex(bytes: number): string {
    for (;;) {
      let out = '';
      for (let i = 0; i < bytes; i += 4) out += this.uint32().toString(16).padStart(8, '0');
      out = out.slice(0, bytes * 2);
      if (!/^0+$/.test(out)) return out;
    }
  }

  /** A short opaque token such as a tool-call id suffix. */
  token(length: number): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[this.uint32() % alphabet.length];
    return out;
  }
}

/** The stream one tree is built from. */
export function treeRng(seed: number, scenario: string, role: string, index: number): Rng {
  return new Rng(`canopy-sim/${seed}/${scenario}/${role}/${index}`);
}

/** A seed for runs without --seed; printed so the run can be reproduced. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
