/**
 * The engine's one seeded random number generator. Every random draw in the engine takes an `Rng`, so a
 * run is reproducible from its seed.
 *
 * This folder is a leaf beneath every layer: it imports nothing, and both `src/tensor` (which re-exports
 * `Rng` as part of its public face) and `src/env` (which otherwise imports nothing of ours) use it, so the
 * engine has one generator type and not one per layer.
 *
 * The core is xoshiro128** (Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2018):
 * 32-bit arithmetic only, so it is exact and fast in JavaScript and gives the same stream on every
 * platform, with a 2^128 - 1 period. The state is seeded through splitmix32 so that nearby seeds (1, 2, 3)
 * give unrelated streams. It is not numpy's PCG64, so the env's terrain for a given seed differs from
 * Gymnasium's (the order of draws follows the env spec, §1.4).
 *
 * The stream of a seed is fixed: recorded replays, resumed runs and the env's determinism tests rely on it.
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  /** A second normal from the last Box-Muller pair, or NaN when none is waiting. */
  private spareNormal = Number.NaN;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`Rng: seed must be a non-negative safe integer, got ${String(seed)}`);
    }
    // splitmix32 from the low 32 bits of the seed with the high bits mixed in, so that seeds above 2^32
    // give distinct streams.
    let state = (seed >>> 0) ^ Math.imul(Math.floor(seed / 0x100000000) >>> 0, 0x27d4eb2f);
    const next = (): number => {
      state = (state + 0x9e3779b9) | 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniformly distributed unsigned 32-bit integer (one xoshiro128** step). */
  nextUint32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    const s2 = this.s2;
    const s3 = this.s3;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 = s2 ^ s0;
    this.s3 = s3 ^ s1;
    this.s1 = s1 ^ this.s2;
    this.s0 = s0 ^ this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /**
   * A uniform double in [low, high) (default [0, 1)), like numpy's `uniform(low, high)`, from 53 random bits
   * (two 32-bit draws).
   */
  uniform(low = 0, high = 1): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return low + (high - low) * ((hi * 67108864 + lo) / 9007199254740992);
  }

  /** The same as `uniform(low, high)`. */
  uniformRange(low: number, high: number): number {
    return this.uniform(low, high);
  }

  /** A uniform integer in [low, high), upper bound exclusive like numpy's `integers(low, high)`. */
  integer(low: number, high: number): number {
    if (!(high > low)) throw new RangeError(`Rng.integer: need low < high, got [${low}, ${high})`);
    return low + Math.floor(this.uniform() * (high - low));
  }

  /** A standard normal draw (Box-Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (!Number.isNaN(this.spareNormal)) {
      const z = this.spareNormal;
      this.spareNormal = Number.NaN;
      return z;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fills `out` with standard normals times `std` plus `mean`. */
  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** Fills `out` with uniforms in [low, high). */
  fillUniform(out: Float32Array, low = 0, high = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.uniform(low, high);
    return out;
  }

  /** A new generator whose stream is independent of this one's future draws. */
  fork(): Rng {
    return new Rng(this.nextUint32() * 2 ** 21 + (this.nextUint32() >>> 11));
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: number }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = Math.floor(this.uniform() * (i + 1));
      const tmp = array[i]!;
      array[i] = array[j]!;
      array[j] = tmp;
    }
    return array;
  }

  /** The full state, for checkpoints; `setState` restores it. */
  getState(): number[] {
    return [this.s0, this.s1, this.s2, this.s3, this.spareNormal];
  }

  /** Restores a state from `getState` (the spare normal may come back as null from JSON, meaning none). */
  setState(state: readonly (number | null)[]): void {
    if (state.length !== 5) throw new RangeError(`Rng.setState: expected 5 numbers, got ${state.length}`);
    const [s0, s1, s2, s3, spare] = state as readonly [number, number, number, number, number | null];
    this.s0 = s0 >>> 0;
    this.s1 = s1 >>> 0;
    this.s2 = s2 >>> 0;
    this.s3 = s3 >>> 0;
    this.spareNormal = spare === null ? Number.NaN : Number(spare);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A seed from the OS entropy source (the env uses it when reset is first called without one, as Gymnasium does). */
export function entropySeed(): number {
  const words = new Uint32Array(2);
  globalThis.crypto.getRandomValues(words);
  return words[0]! * 0x200000 + (words[1]! >>> 11);
}
