/**
 * Finite-difference gradient check. The op under test is reduced to a scalar through fixed random weights
 * (L = sum(f(x) * R), seeded into backward as the output gradient R), so every output element's gradient matters and a wrong one cannot cancel out.
 * Central differences in float32 with eps = 1e-3 carry ~1e-4 of rounding error, hence the tolerances.
 */
import { noGrad, Rng, type Tensor, tensor } from '../../src/tensor/index.ts';

export interface GradCheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  seed?: number;
}

export interface GradCheckResult {
  maxError: number;
  worst: { input: number; index: number; analytic: number; numeric: number } | null;
}

export function gradCheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: Tensor[],
  options: GradCheckOptions = {},
): GradCheckResult {
  const eps = options.eps ?? 1e-3;
  const atol = options.atol ?? 2e-3;
  const rtol = options.rtol ?? 2e-2;
  const rng = new Rng(options.seed ?? 7);
  for (const x of inputs) x.setRequiresGrad(true);
  const probe = noGrad(() => fn(...inputs));
  const weights = tensor(
    Array.from({ length: probe.size }, () => rng.uniformRange(0.5, 1.5)),
    probe.shape,
  );
  // The numeric side sums in float64, so only f's own float32 rounding limits it.
  const loss = (): number => {
    const y = noGrad(() => fn(...inputs)).data;
    let total = 0;
    for (let i = 0; i < y.length; i++) total += y[i]! * weights.data[i]!;
    return total;
  };
  for (const x of inputs) x.grad = null;
  fn(...inputs).backward(weights);
  let maxError = 0;
  let worst: GradCheckResult['worst'] = null;
  inputs.forEach((x, input) => {
    const analytic = x.grad ? x.grad.data : new Float32Array(x.size);
    for (let i = 0; i < x.size; i++) {
      const saved = x.data[i]!;
      x.data[i] = saved + eps;
      const up = loss();
      x.data[i] = saved - eps;
      const down = loss();
      x.data[i] = saved;
      const numeric = (up - down) / (2 * eps);
      const error =
        Math.abs(analytic[i]! - numeric) /
        (atol + rtol * Math.max(Math.abs(numeric), Math.abs(analytic[i]!)));
      if (error > maxError) {
        maxError = error;
        worst = { input, index: i, analytic: analytic[i]!, numeric };
      }
    }
  });
  return { maxError, worst };
}

/** Asserts the check passes: every entry within atol + rtol * |value| (the error ratio is at most 1). */
export function expectGradientsMatch(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: Tensor[],
  options?: GradCheckOptions,
): void {
  const { maxError, worst } = gradCheck(fn, inputs, options);
  if (maxError > 1) {
    throw new Error(`gradient check failed: ${JSON.stringify(worst)} (error ratio ${maxError.toFixed(2)})`);
  }
}

/** Normal entries pushed at least `margin` away from zero, so kinks (relu, abs) are not straddled. */
export function awayFromZero(shape: number[], rng: Rng, margin = 0.1): Tensor {
  const t = tensor(
    Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => rng.normal()),
    shape,
  );
  for (let i = 0; i < t.size; i++) t.data[i] = Math.sign(t.data[i]! || 1) * (Math.abs(t.data[i]!) + margin);
  return t;
}

export function positive(shape: number[], rng: Rng, low = 0.5, high = 2): Tensor {
  return tensor(
    Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => rng.uniformRange(low, high)),
    shape,
  );
}

export function normal(shape: number[], rng: Rng): Tensor {
  return tensor(
    Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => rng.normal()),
    shape,
  );
}
