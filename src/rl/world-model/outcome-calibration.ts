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
 * ([rows, OUTPUT_SIZE], outcome logits at OUT_OUTCOME) expects as many rows of each class as `labels` has.
 * The targets carry half a row of pseudo-count each (rescaled to the row total), so a class absent from the
 * rows still gets a finite offset: about half a row's worth of probability, not minus infinity.
 */
export function fitOutcomeOffsets(
  outputs: Float32Array,
  rows: number,
  labels: ArrayLike<number>,
  initial: ArrayLike<number>,
  iterations = 100,
): Float32Array {
  const b = Float64Array.from({ length: K }, (_, c) => initial[c]!);
  const target = new Float64Array(K).fill(0.5);
  for (let r = 0; r < rows; r++) target[labels[r]!]! += 1;
  for (let c = 0; c < K; c++) target[c] = (target[c]! * rows) / (rows + 0.5 * K);
  // Each row's exp(z_c - max z), computed once: an iteration only rescales class c by exp(b_c).
  const e = new Float64Array(rows * K);
  for (let r = 0; r < rows; r++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < K; c++) max = Math.max(max, outputs[r * OUTPUT_SIZE + OUT_OUTCOME + c]!);
    for (let c = 0; c < K; c++) e[r * K + c] = Math.exp(outputs[r * OUTPUT_SIZE + OUT_OUTCOME + c]! - max);
  }
  const expected = new Float64Array(K);
  const scale = new Float64Array(K);
  for (let it = 0; it < iterations; it++) {
    const top = Math.max(...b);
    for (let c = 0; c < K; c++) scale[c] = Math.exp(b[c]! - top);
    expected.fill(0);
    for (let r = 0; r < rows; r++) {
      let total = 0;
      for (let c = 0; c < K; c++) total += e[r * K + c]! * scale[c]!;
      for (let c = 0; c < K; c++) expected[c]! += (e[r * K + c]! * scale[c]!) / total;
    }
    let moved = 0;
    for (let c = 0; c < K; c++) {
      const step = Math.log(target[c]! / expected[c]!);
      b[c]! += step;
      moved = Math.max(moved, Math.abs(step));
    }
    if (moved < 1e-4) break;
  }
  // Only differences between offsets matter: anchor the first class's at its starting value.
  const shift = initial[0]! - b[0]!;
  return Float32Array.from(b, (v) => v + shift);
}

/**
 * The outcome offsets saved in a model file, checked: `length` finite numbers, or null when the file has
 * none (saved before calibration existed; the caller keeps the offsets that undo the class weights).
 */
export function readOutcomeOffsets(
  extra: Record<string, Float32Array | undefined>,
  length: number,
  file: string,
): Float32Array | null {
  const offsets = extra.outcomeOffsets;
  if (!offsets) return null;
  if (offsets.length !== length || !offsets.every(Number.isFinite)) {
    throw new Error(
      `world model: ${file} holds ${offsets.length} outcome offsets, expected ${length} finite numbers`,
    );
  }
  return offsets;
}

/** Throws unless `weights` are 3 positive finite class weights. */
export function checkOutcomeWeights(weights: Float32Array | undefined, file: string): Float32Array {
  if (!weights || weights.length !== K || !weights.every((w) => w > 0 && Number.isFinite(w))) {
    throw new Error(`world model: ${file} lacks 'outcomeWeights' (3 positive numbers)`);
  }
  return weights;
}
