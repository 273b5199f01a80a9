/**
 * Gradient clipping by global norm (Pascanu, Mikolov & Bengio 2013): the gradients of all parameters are
 * treated as one vector; when its L2 norm exceeds `maxNorm`, all are scaled by maxNorm / (norm + 1e-6),
 * as PyTorch's `clip_grad_norm_`. PPO clips at 0.5.
 */
import type { Tensor } from '../../tensor/index.ts';
import { checkNumber } from '../errors.ts';

/**
 * Scales the gradients in place and returns the global norm measured before clipping. Parameters without a
 * gradient are ignored. A non-finite norm (NaN or infinite gradients) is returned and nothing is scaled, so
 * the caller can see it and skip the step.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  checkNumber('clipGradNorm: maxNorm', maxNorm, 0, Number.POSITIVE_INFINITY, { min: true });
  const grads = params.flatMap((p) => (p.grad ? [p.grad.data] : []));
  const norm = gradNorm(grads);
  if (!Number.isFinite(norm)) return norm;
  scaleGrads(grads, clipCoefficient(norm, maxNorm));
  return norm;
}

/**
 * The global L2 norm of gradient arrays taken in order (clipGradNorm's sum, element by element): a fit whose
 * parameters are split across threads passes the parts in the order of the whole, for the same number.
 */
export function gradNorm(grads: readonly Float32Array[]): number {
  let total = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) total += g[i]! * g[i]!;
  return Math.sqrt(total);
}

/** The factor clipGradNorm scales by for a finite `norm`: maxNorm / (norm + 1e-6) when below 1, else 1. */
export function clipCoefficient(norm: number, maxNorm: number): number {
  const coef = maxNorm / (norm + 1e-6);
  return coef < 1 ? coef : 1;
}

/** Multiplies every element by `coef` in place (nothing when it is 1). */
export function scaleGrads(grads: readonly Float32Array[], coef: number): void {
  if (coef === 1) return;
  for (const g of grads) for (let i = 0; i < g.length; i++) g[i]! *= coef;
}
