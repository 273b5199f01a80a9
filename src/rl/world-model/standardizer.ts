/**
 * Per-feature standardisation, (x - mean) / std, with statistics from a model's training data (as
 * mbrl-lib's and MBPO's scalers). A feature that never varies gets std 1, so it passes through centred
 * instead of dividing by zero.
 *
 * `robust` fits mean and std to the values winsorised at the 1st and 99th percentiles. The lander's
 * velocity changes are heavy-tailed: touchdown and crash impulses, 1% of the rows, carry 70-97% of their
 * variance, so a plain std would make every ordinary step look like nothing and a model would spend its
 * capacity on the collisions.
 */

/** Below this standard deviation a feature counts as constant. */
const MIN_STD = 1e-6;

export class Standardizer {
  readonly mean: Float32Array;
  readonly std: Float32Array;

  constructor(readonly size: number) {
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new Error(`Standardizer: size must be a positive integer, got ${size}`);
    }
    this.mean = new Float32Array(size);
    this.std = new Float32Array(size).fill(1);
  }

  /**
   * Fits mean and std to `rows` rows of `values` [rows, stride], feature j at offset `offset + j`; rows
   * whose `mask` entry is 0 are left out.
   */
  fit(
    values: Float32Array,
    rows: number,
    stride = this.size,
    offset = 0,
    mask?: ArrayLike<number>,
    robust = false,
  ): this {
    const n = this.size;
    const low = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
    const high = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
    if (robust) {
      for (let j = 0; j < n; j++) {
        const column: number[] = [];
        for (let r = 0; r < rows; r++) if (!mask || mask[r]) column.push(values[r * stride + offset + j]!);
        column.sort((a, b) => a - b);
        if (column.length === 0) continue;
        low[j] = column[Math.floor(0.01 * (column.length - 1))]!;
        high[j] = column[Math.ceil(0.99 * (column.length - 1))]!;
      }
    }
    const sum = new Float64Array(n);
    const sumSq = new Float64Array(n);
    let count = 0;
    for (let r = 0; r < rows; r++) {
      if (mask && !mask[r]) continue;
      count++;
      const base = r * stride + offset;
      for (let j = 0; j < n; j++) {
        const raw = values[base + j]!;
        const v = raw < low[j]! ? low[j]! : raw > high[j]! ? high[j]! : raw;
        sum[j]! += v;
        sumSq[j]! += v * v;
      }
    }
    if (count === 0) throw new Error('Standardizer.fit: no rows to fit (all masked out, or none given)');
    for (let j = 0; j < n; j++) {
      const mean = sum[j]! / count;
      const variance = Math.max(0, sumSq[j]! / count - mean * mean);
      const std = Math.sqrt(variance);
      this.mean[j] = mean;
      this.std[j] = std < MIN_STD ? 1 : std;
    }
    return this;
  }

  /** The state as one [2, size] block (means, then stds), for a checkpoint. */
  toArray(): Float32Array {
    const out = new Float32Array(2 * this.size);
    out.set(this.mean);
    out.set(this.std, this.size);
    return out;
  }

  /** Restores from `toArray`'s block. */
  fromArray(values: Float32Array, source = 'Standardizer'): this {
    if (values.length !== 2 * this.size) {
      throw new Error(
        `${source}: expected ${2 * this.size} numbers (mean and std of ${this.size}), got ${values.length}`,
      );
    }
    this.mean.set(values.subarray(0, this.size));
    this.std.set(values.subarray(this.size));
    return this;
  }
}
