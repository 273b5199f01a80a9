/**
 * Per-feature standardisation, (x - mean) / std, with statistics from a model's training data (as
 * mbrl-lib's and MBPO's scalers). A feature that never varies gets std 1, so it passes through centred
 * instead of dividing by zero.
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
  fit(values: Float32Array, rows: number, stride = this.size, offset = 0, mask?: ArrayLike<number>): this {
    const n = this.size;
    const sum = new Float64Array(n);
    const sumSq = new Float64Array(n);
    let count = 0;
    for (let r = 0; r < rows; r++) {
      if (mask && !mask[r]) continue;
      count++;
      const base = r * stride + offset;
      for (let j = 0; j < n; j++) {
        const v = values[base + j]!;
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

  /** Standardises feature j of each row in place ([rows, stride], features at `offset`). */
  apply(values: Float32Array, rows: number, stride = this.size, offset = 0): void {
    const n = this.size;
    for (let r = 0; r < rows; r++) {
      const base = r * stride + offset;
      for (let j = 0; j < n; j++) values[base + j] = (values[base + j]! - this.mean[j]!) / this.std[j]!;
    }
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
