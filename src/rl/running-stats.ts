/**
 * Running mean and variance per feature, merged batch by batch with the parallel update of Chan, Golub &
 * LeVeque (1979), as PPO implementations normalise observations. Kept in float64 so that millions of
 * updates do not drift.
 */
export class RunningMeanStd {
  readonly mean: Float64Array;
  readonly variance: Float64Array;
  count: number;

  constructor(
    readonly size: number,
    epsilon = 1e-4,
  ) {
    if (!Number.isInteger(size) || size <= 0)
      throw new Error(`RunningMeanStd: size must be a positive integer, got ${size}`);
    this.mean = new Float64Array(size);
    this.variance = new Float64Array(size).fill(1);
    this.count = epsilon;
  }

  /** Folds in a batch given row-major as [rows, size]. */
  update(batch: Float32Array, rows: number): void {
    if (batch.length !== rows * this.size) {
      throw new Error(
        `RunningMeanStd.update: batch has ${batch.length} values, expected ${rows}x${this.size}`,
      );
    }
    if (rows === 0) return;
    const total = this.count + rows;
    for (let j = 0; j < this.size; j++) {
      let mean = 0;
      for (let r = 0; r < rows; r++) mean += batch[r * this.size + j]!;
      mean /= rows;
      let m2 = 0;
      for (let r = 0; r < rows; r++) {
        const d = batch[r * this.size + j]! - mean;
        m2 += d * d;
      }
      const delta = mean - this.mean[j]!;
      this.mean[j] = this.mean[j]! + (delta * rows) / total;
      const combined = this.variance[j]! * this.count + m2 + (delta * delta * this.count * rows) / total;
      this.variance[j] = combined / total;
    }
    this.count = total;
  }

  toJSON(): { mean: number[]; variance: number[]; count: number } {
    return { mean: Array.from(this.mean), variance: Array.from(this.variance), count: this.count };
  }

  static fromJSON(state: { mean: number[]; variance: number[]; count: number }): RunningMeanStd {
    const stats = new RunningMeanStd(state.mean.length);
    if (state.variance.length !== state.mean.length) {
      throw new Error(
        `RunningMeanStd.fromJSON: ${state.mean.length} means but ${state.variance.length} variances`,
      );
    }
    stats.mean.set(state.mean);
    stats.variance.set(state.variance);
    stats.count = state.count;
    return stats;
  }
}

/**
 * (x - mean[j]) / sqrt(variance[j] + eps), clipped to [-clip, clip], for rows of `mean.length` features,
 * into `out` (may be `batch`). Shared by the running statistics and the policy's saved copy of them.
 */
export function normalizeRows(
  where: string,
  batch: Float32Array,
  mean: ArrayLike<number>,
  variance: ArrayLike<number>,
  out: Float32Array,
  clip: number,
  eps: number,
): Float32Array {
  const size = mean.length;
  if (batch.length % size !== 0) {
    throw new Error(`${where}: ${batch.length} values are not rows of ${size}`);
  }
  for (let i = 0; i < batch.length; i++) {
    const j = i % size;
    const z = (batch[i]! - mean[j]!) / Math.sqrt(variance[j]! + eps);
    out[i] = z < -clip ? -clip : z > clip ? clip : z;
  }
  return out;
}
