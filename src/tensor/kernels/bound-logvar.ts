/**
 * PETS' soft bounds on a raw log-variance (Chua et al. 2018, "Deep Reinforcement Learning in a Handful of
 * Trials using Probabilistic Dynamics Models", Appendix A.1) as one pass, for rows × cols entries:
 *   u = max_j - raw, upper = max_j - softplus(u), v = upper - min_j, out = min_j + softplus(v).
 * The backward pass needs only σ(u) and σ(v): d out/d raw = σ(v)σ(u), d out/d max_j = σ(v)(1 - σ(u)),
 * d out/d min_j = 1 - σ(v); the kernel stores them in `su` and `sv` when given.
 */
import { sigmoid, softplus } from './elementwise.ts';

/**
 * raw[rawOffset + r·rawStride + j] for r < rows, j < cols (columns of a wider row: an ensemble's head keeps
 * the mean beside the raw log-variance); maxLv and minLv have cols entries; out, su and sv are dense
 * rows × cols (su and sv may be null).
 */
export type BoundLogVarKernel = (
  rows: number,
  cols: number,
  raw: Float32Array,
  rawOffset: number,
  rawStride: number,
  maxLv: Float32Array,
  minLv: Float32Array,
  out: Float32Array,
  su: Float32Array | null,
  sv: Float32Array | null,
) => void;

export const boundLogVarJs: BoundLogVarKernel = (
  rows,
  cols,
  raw,
  rawOffset,
  rawStride,
  maxLv,
  minLv,
  out,
  su,
  sv,
) => {
  for (let r = 0; r < rows; r++) {
    const base = rawOffset + r * rawStride;
    for (let j = 0; j < cols; j++) {
      const i = r * cols + j;
      const mx = maxLv[j]!;
      const mn = minLv[j]!;
      const u = mx - raw[base + j]!;
      const v = mx - softplus(u) - mn;
      out[i] = mn + softplus(v);
      if (su) su[i] = sigmoid(u);
      if (sv) sv[i] = sigmoid(v);
    }
  }
};
