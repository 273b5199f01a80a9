/**
 * The Gaussian negative log-likelihood's elementwise pass (the PETS model loss, Chua et al. 2018, Eq. 3):
 * for each i, with d = mean - target and q = d²·e^-logVar,
 *   values[i] = ½(q + logVar),  dMean[i] = d·e^-logVar,  dLogVar[i] = ½(1 - q)
 * (d/d target = -dMean). dMean and dLogVar may be null (no gradient wanted). The loss sums `values`.
 */
export type GaussianNllKernel = (
  n: number,
  mean: Float32Array,
  logVar: Float32Array,
  target: Float32Array,
  values: Float32Array,
  dMean: Float32Array | null,
  dLogVar: Float32Array | null,
) => void;

export const gaussianNllJs: GaussianNllKernel = (n, mean, logVar, target, values, dMean, dLogVar) => {
  for (let i = 0; i < n; i++) {
    const d = mean[i]! - target[i]!;
    const invVar = Math.exp(-logVar[i]!);
    const q = d * d * invVar;
    values[i] = 0.5 * (q + logVar[i]!);
    if (dMean) dMean[i] = d * invVar;
    if (dLogVar) dLogVar[i] = 0.5 * (1 - q);
  }
};
