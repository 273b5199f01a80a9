/**
 * The Adam / AdamW parameter update as a kernel over raw arrays (Kingma & Ba 2015, "Adam: A Method for
 * Stochastic Optimization", Algorithm 1; Loshchilov & Hutter 2019, "Decoupled Weight Decay
 * Regularization", Algorithm 2). One pass updates both moments and the weight; the optimiser computes the
 * per-step scalars. As in PyTorch, the bias corrections are folded into the step size and the
 * denominator: θ -= lr/(1-β₁ᵗ) · m / (sqrt(v)/sqrt(1-β₂ᵗ) + ε).
 */

export interface AdamStep {
  readonly b1: number;
  readonly b2: number;
  /** lr / (1 - β₁ᵗ). */
  readonly stepSize: number;
  /** 1 / sqrt(1 - β₂ᵗ). */
  readonly invSqrtBc2: number;
  readonly eps: number;
  /** L2 decay added to the gradient (Adam's weight decay); 0 for AdamW. */
  readonly l2: number;
  /** Decoupled decay factor 1 - lr·λ applied to the weight first (AdamW); 1 for Adam. */
  readonly shrink: number;
  /**
   * The length a kernel set chooses its code by instead of w's (one that runs short arrays in JS): a slice of
   * a parameter split across threads (an ensemble's members) then steps with the whole one's code, to the
   * same numbers. Each element's update never depends on the others.
   */
  readonly wholeLength?: number;
}

/** Updates w, m and v in place from the gradient g (all the same length). */
export type AdamKernel = (
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  s: AdamStep,
) => void;

export const adamJs: AdamKernel = (w, g, m, v, s) => {
  const { b1, b2, stepSize, invSqrtBc2, eps, l2, shrink } = s;
  const n = w.length;
  for (let i = 0; i < n; i++) {
    const wi = w[i]! * shrink;
    const gi = g[i]! + l2 * wi;
    const mi = b1 * m[i]! + (1 - b1) * gi;
    const vi = b2 * v[i]! + (1 - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] = wi - (stepSize * mi) / (Math.sqrt(vi) * invSqrtBc2 + eps);
  }
};
