// The env's own seeded generator (the env layer imports nothing else of ours). It is xoshiro128** seeded
// through splitmix32, so a seed gives the same stream on every platform. It is not numpy's PCG64, so the
// terrain for a given seed differs from Gymnasium's; the order of draws follows spec §1.4.

function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [state, (z ^ (z >>> 16)) >>> 0];
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`Rng: seed must be a non-negative safe integer, got ${String(seed)}`);
    }
    // Mix both 32-bit halves of the seed so that seeds above 2^32 give distinct streams.
    let state = (seed >>> 0) ^ Math.imul(Math.floor(seed / 0x100000000) >>> 0, 0x27d4eb2f);
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [next, out] = splitmix32(state);
      state = next;
      words.push(out);
    }
    [this.s0, this.s1, this.s2, this.s3] = words as [number, number, number, number];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  nextDouble(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform double in [low, high), like numpy's `uniform(low, high)`. */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.nextDouble();
  }

  /** Uniform integer in [low, high), upper bound exclusive like numpy's `integers(low, high)`. */
  integer(low: number, high: number): number {
    return low + Math.floor(this.nextDouble() * (high - low));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A seed from the OS entropy source, used when reset is first called without one (as Gymnasium does). */
export function entropySeed(): number {
  const words = new Uint32Array(2);
  globalThis.crypto.getRandomValues(words);
  return words[0]! * 0x200000 + (words[1]! >>> 11);
}
