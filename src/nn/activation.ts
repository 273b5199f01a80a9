/**
 * Activations as fused kernels: the layers add the bias and apply the activation in one pass over the
 * matmul's output, and the backward pass turns the output gradient into the pre-activation gradient in one
 * more pass, without intermediate tensors. The derivative is taken from the output y where it can be
 * (tanh: 1 - y², sigmoid: y(1 - y), relu: y > 0); SiLU needs σ of the pre-activation z as well
 * (d/dz z·σ(z) = σ + y·(1 - σ)), which the forward pass then keeps.
 */
import { type FusedActivation, fastTanh } from '../tensor/index.ts';
import { checkOneOf } from './errors.ts';

/** The same set the fused linear kernels take. */
export type Activation = FusedActivation;

export const ACTIVATIONS: readonly Activation[] = ['identity', 'tanh', 'relu', 'sigmoid', 'silu'];

export function checkActivation(what: string, value: Activation): void {
  checkOneOf(what, value, ACTIVATIONS);
}

/** True when the backward pass needs the pre-activation kept beside the output. */
export function needsPreActivation(act: Activation): boolean {
  return act === 'silu';
}

/** Re-exported from the tensor layer, where the GRU kernels use it too. */
export { fastTanh };

/**
 * out[r, j] = act(out[r, j] + bias[j]) over `rows` x `cols` entries starting at `offset`; `bias` may be
 * null. When `pre` is given (SiLU), σ of the pre-activation is stored there (same offsets), which is what
 * the backward pass needs. One pass per row.
 */
export function biasActivationForward(
  act: Activation,
  out: Float32Array,
  offset: number,
  rows: number,
  cols: number,
  bias: Float32Array | null,
  biasOffset: number,
  pre: Float32Array | null,
): void {
  for (let r = 0; r < rows; r++) {
    const base = offset + r * cols;
    if (bias) for (let j = 0; j < cols; j++) out[base + j]! += bias[biasOffset + j]!;
    const end = base + cols;
    switch (act) {
      case 'identity':
        break;
      case 'tanh':
        for (let j = base; j < end; j++) out[j] = fastTanh(out[j]!);
        break;
      case 'relu':
        for (let j = base; j < end; j++) if (out[j]! < 0) out[j] = 0;
        break;
      case 'sigmoid':
        for (let j = base; j < end; j++) out[j] = 1 / (1 + Math.exp(-out[j]!));
        break;
      case 'silu':
        for (let j = base; j < end; j++) {
          const z = out[j]!;
          const s = 1 / (1 + Math.exp(-z));
          if (pre) pre[j] = s;
          out[j] = z * s;
        }
        break;
    }
  }
}

/**
 * gz[i] = g[i] * act'(·) for the first `n` entries, from the output `y` (and, for SiLU, `pre`: σ of the
 * pre-activation, as the forward pass kept it). Returns `g` itself for the identity, so no copy is made.
 */
export function activationBackward(
  act: Activation,
  g: Float32Array,
  y: Float32Array,
  pre: Float32Array | null,
  gz: Float32Array,
  n: number,
): Float32Array {
  switch (act) {
    case 'identity':
      return g;
    case 'tanh':
      for (let i = 0; i < n; i++) gz[i] = g[i]! * (1 - y[i]! * y[i]!);
      return gz;
    case 'relu':
      for (let i = 0; i < n; i++) gz[i] = y[i]! > 0 ? g[i]! : 0;
      return gz;
    case 'sigmoid':
      for (let i = 0; i < n; i++) gz[i] = g[i]! * y[i]! * (1 - y[i]!);
      return gz;
    case 'silu':
      // d/dz z·σ(z) = σ + z·σ·(1 - σ) = σ + y·(1 - σ), with σ kept by the forward pass.
      for (let i = 0; i < n; i++) {
        const s = pre![i]!;
        gz[i] = g[i]! * (s + y[i]! * (1 - s));
      }
      return gz;
  }
}

let scratch = new Float32Array(0);

/**
 * A shared scratch buffer of at least `n` floats for backward passes. Backward functions run one at a
 * time and finish with their scratch before returning, so one buffer serves them all.
 */
export function backwardScratch(n: number): Float32Array {
  if (scratch.length < n) scratch = new Float32Array(Math.max(n, scratch.length * 2));
  return scratch;
}
