/**
 * Activations as fused kernels: the layers add the bias and apply the activation in one pass over the
 * matmul's output, and the backward pass turns the output gradient into the pre-activation gradient in one
 * more pass, without intermediate tensors. The derivative is taken from the output y where it can be
 * (tanh: 1 - y², sigmoid: y(1 - y), relu: y > 0); SiLU needs the pre-activation, which is then kept.
 */
import type { FusedActivation } from '../tensor/index.ts';
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

/**
 * tanh to float32 precision as a rational function, x·P(x²)/Q(x²) on x clamped to ±7.9053 (Eigen's
 * `generic_fast_tanh_float`, the approximation TensorFlow's CPU kernels use): within 2.4e-7 of the exact
 * value everywhere, about four float32 ulps at the saturated ends, and about four times as fast as Math.tanh
 * in V8 because it is plain arithmetic the compiler inlines.
 */
export function fastTanh(x: number): number {
  const c = 7.905311107635498;
  const v = x > c ? c : x < -c ? -c : x;
  const v2 = v * v;
  const p =
    v *
    (4.89352455891786e-3 +
      v2 *
        (6.37261928875436e-4 +
          v2 *
            (1.48572235717979e-5 +
              v2 *
                (5.12229709037114e-8 +
                  v2 * (-8.60467152213735e-11 + v2 * (2.00018790482477e-13 + v2 * -2.76076847742355e-16))))));
  const q =
    4.89352518554385e-3 + v2 * (2.268434632439e-3 + v2 * (1.18534705686654e-4 + v2 * 1.19825839466702e-6));
  return p / q;
}

/**
 * out[r, j] = act(out[r, j] + bias[j]) over `rows` x `cols` entries starting at `offset`; `bias` may be
 * null. When `pre` is given, the pre-activation is stored there (same offsets). One pass per row.
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
    if (pre) for (let j = 0; j < cols; j++) pre[base + j] = out[base + j]!;
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
          out[j] = z / (1 + Math.exp(-z));
        }
        break;
    }
  }
}

/**
 * gz[i] = g[i] * act'(·) for the first `n` entries, from the output `y` (or the pre-activation `pre` for
 * SiLU). Returns `g` itself for the identity, so no copy is made.
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
      for (let i = 0; i < n; i++) {
        const z = pre![i]!;
        const s = 1 / (1 + Math.exp(-z));
        gz[i] = g[i]! * (s + z * s * (1 - s));
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
