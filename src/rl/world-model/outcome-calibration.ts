/**
 * Calibrating the outcome head after training. Training weighs the rare classes up (crash and at rest are
 * about 1% of the rows), so the raw logits over-predict them; subtracting log w undoes that only at the
 * exact optimum of the weighted loss, which early stopping never reaches. So after fitting, each member's
 * per-class logit offsets are fitted on held-out validation rows: softmax(z + b). These offsets are the
 * intercepts of a multinomial logistic regression on the logits, whose likelihood is highest exactly where
 * the expected count of every class (the sum of its probabilities) equals its actual count; iterative
 * proportional fitting, b_c += log(actual_c / expected_c), walks there.
 */
import { OUT_OUTCOME, OUTCOMES, OUTPUT_SIZE } from './lander-layout.ts';

const K = OUTCOMES.length;

/** The offsets that undo class weights w: -log w (the starting point, and the fallback). */
export function weightOffsets(weights: ArrayLike<number>): Float32Array {
  return Float32Array.from({ length: K }, (_, c) => -Math.log(weights[c]!));
}

/**
 * Fits offsets b (starting from `initial`) so that softmax(z + b) over the rows of `outputs`
 * ([rows, OUTPUT_SIZE], outcome logits at OUT_OUTCOME) expects as many rows of each class as `labels` has;
 * half a row is added to every count so a class absent from the rows keeps a finite offset.
 */
export function fitOutcomeOffsets(
  outputs: Float32Array,
  rows: number,
  labels: ArrayLike<number>,
  initial: ArrayLike<number>,
  iterations = 100,
): Float32Array {
  const b = Float64Array.from({ length: K }, (_, c) => initial[c]!);
  const actual = new Float64Array(K).fill(0.5);
  for (let r = 0; r < rows; r++) actual[labels[r]!]! += 1;
  const expected = new Float64Array(K);
  const z = new Float64Array(K);
  for (let it = 0; it < iterations; it++) {
    expected.fill(0.5);
    for (let r = 0; r < rows; r++) {
      let max = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < K; c++) {
        z[c] = outputs[r * OUTPUT_SIZE + OUT_OUTCOME + c]! + b[c]!;
        max = Math.max(max, z[c]!);
      }
      let total = 0;
      for (let c = 0; c < K; c++) {
        z[c] = Math.exp(z[c]! - max);
        total += z[c]!;
      }
      for (let c = 0; c < K; c++) expected[c]! += z[c]! / total;
    }
    let moved = 0;
    for (let c = 0; c < K; c++) {
      const step = Math.log(actual[c]! / expected[c]!);
      b[c]! += step;
      moved = Math.max(moved, Math.abs(step));
    }
    if (moved < 1e-4) break;
  }
  // Only differences between offsets matter: anchor the first class's at its starting value.
  const shift = initial[0]! - b[0]!;
  return Float32Array.from(b, (v) => v + shift);
}
