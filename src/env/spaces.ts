// Gymnasium-style spaces: `Box` (float32 vectors with per-element bounds) and `Discrete` ({0, …, n-1}).
// Each owns a seeded generator so `sample()` is reproducible after `seed()`.
import { entropySeed, Rng } from '../rng/index.ts';

export class Box {
  readonly kind = 'box' as const;
  readonly low: Float32Array;
  readonly high: Float32Array;
  readonly shape: readonly [number];
  private rng: Rng;

  constructor(low: ArrayLike<number>, high: ArrayLike<number>, seed?: number) {
    if (low.length !== high.length) {
      throw new RangeError(`Box: low has ${low.length} elements but high has ${high.length}; expected equal`);
    }
    this.low = Float32Array.from(low);
    this.high = Float32Array.from(high);
    for (let i = 0; i < this.low.length; i++) {
      if (!(this.low[i]! <= this.high[i]!)) {
        throw new RangeError(`Box: low[${i}] = ${this.low[i]} exceeds high[${i}] = ${this.high[i]}`);
      }
    }
    this.shape = [this.low.length];
    this.rng = new Rng(seed ?? entropySeed());
  }

  get size(): number {
    return this.low.length;
  }

  /** Reseeds the generator behind `sample`. */
  seed(seed: number): void {
    this.rng = new Rng(seed);
  }

  /** True when `x` has the right length and every element is a number within its bounds. */
  contains(x: unknown): boolean {
    if (!isNumberArray(x) || x.length !== this.low.length) return false;
    for (let i = 0; i < x.length; i++) {
      const v = Math.fround(x[i]!);
      if (!(v >= this.low[i]! && v <= this.high[i]!)) return false;
    }
    return true;
  }

  /** A uniform draw within the bounds (all our boxes are bounded). */
  sample(): Float32Array {
    const out = new Float32Array(this.low.length);
    for (let i = 0; i < out.length; i++) {
      const low = this.low[i]!;
      const high = this.high[i]!;
      out[i] = Math.min(high, Math.max(low, Math.fround(this.rng.uniform(low, high))));
    }
    return out;
  }
}

export class Discrete {
  readonly kind = 'discrete' as const;
  readonly n: number;
  private rng: Rng;

  constructor(n: number, seed?: number) {
    if (!Number.isInteger(n) || n <= 0) {
      throw new RangeError(`Discrete: n must be a positive integer, got ${String(n)}`);
    }
    this.n = n;
    this.rng = new Rng(seed ?? entropySeed());
  }

  /** Reseeds the generator behind `sample`. */
  seed(seed: number): void {
    this.rng = new Rng(seed);
  }

  contains(x: unknown): boolean {
    return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < this.n;
  }

  sample(): number {
    return this.rng.integer(0, this.n);
  }
}

export type Space = Box | Discrete;

function isNumberArray(x: unknown): x is ArrayLike<number> {
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) return typeof (x as Float32Array)[0] !== 'bigint';
  return Array.isArray(x) && x.every((v) => typeof v === 'number');
}
