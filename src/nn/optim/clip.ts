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
  let total = 0;
  for (const p of params) {
    if (!p.grad) continue;
    const g = p.grad.data;
    for (let i = 0; i < g.length; i++) total += g[i]! * g[i]!;
  }
  const norm = Math.sqrt(total);
  if (!Number.isFinite(norm)) return norm;
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    for (const p of params) {
      if (!p.grad) continue;
      const g = p.grad.data;
      for (let i = 0; i < g.length; i++) g[i]! *= coef;
    }
  }
  return norm;
}
