/**
 * From a model's normalised output rows to predictions in the env's units (dynamics-model.ts): the state
 * change and reward un-normalised, log-variances to standard deviations, contact logits to probabilities,
 * and outcome logits to calibrated probabilities softmax(z + b): the offsets b undo the class weights the
 * loss used (a weighted cross-entropy's optimum is p_w(c|x) ∝ w_c p(c|x), so b = -log w at the optimum) and
 * are refitted on validation rows after training (outcome-calibration.ts).
 */
import type { DynamicsPrediction } from './dynamics-model.ts';
import {
  CONTACT_DIMS,
  OUT_CONTACTS,
  OUT_DELTA,
  OUT_OUTCOME,
  OUT_REWARD,
  OUTCOMES,
  OUTPUT_SIZE,
  STATE_DIMS,
} from './lander-layout.ts';
import type { LanderScalers } from './model-data.ts';

export function allocatePrediction(members: number, rows: number, stochastic: boolean): DynamicsPrediction {
  const n = members * rows;
  return {
    members,
    rows,
    delta: new Float32Array(n * STATE_DIMS),
    deltaStd: stochastic ? new Float32Array(n * STATE_DIMS) : null,
    contactProb: new Float32Array(n * CONTACT_DIMS),
    reward: new Float32Array(n),
    rewardStd: stochastic ? new Float32Array(n) : null,
    outcomeProb: new Float32Array(n * OUTCOMES.length),
  };
}

/** Copies entry `from` (member-major index m * rows + i) of `source` to entry `to` of `target`. */
export function copyPredictionRow(
  source: DynamicsPrediction,
  from: number,
  target: DynamicsPrediction,
  to: number,
): void {
  const K = OUTCOMES.length;
  target.delta.set(source.delta.subarray(from * STATE_DIMS, (from + 1) * STATE_DIMS), to * STATE_DIMS);
  if (source.deltaStd && target.deltaStd) {
    target.deltaStd.set(
      source.deltaStd.subarray(from * STATE_DIMS, (from + 1) * STATE_DIMS),
      to * STATE_DIMS,
    );
  }
  target.contactProb.set(
    source.contactProb.subarray(from * CONTACT_DIMS, (from + 1) * CONTACT_DIMS),
    to * CONTACT_DIMS,
  );
  target.reward[to] = source.reward[from]!;
  if (source.rewardStd && target.rewardStd) target.rewardStd[to] = source.rewardStd[from]!;
  target.outcomeProb.set(source.outcomeProb.subarray(from * K, (from + 1) * K), to * K);
}

/**
 * Decodes member-major rows `out` [E*N, OUTPUT_SIZE] (and `logVar`, same layout) into `pred`;
 * `outcomeOffsets` holds 3 offsets shared by all members or 3 per member.
 */
export function decodeOutputs(
  out: Float32Array,
  logVar: Float32Array | null,
  scalers: LanderScalers,
  outcomeOffsets: Float32Array,
  pred: DynamicsPrediction,
): void {
  if (outcomeOffsets.length !== OUTCOMES.length && outcomeOffsets.length !== pred.members * OUTCOMES.length) {
    throw new Error(
      `decodeOutputs: ${outcomeOffsets.length} outcome offsets; expected ${OUTCOMES.length} or ${pred.members * OUTCOMES.length}`,
    );
  }
  const perMember = outcomeOffsets.length !== OUTCOMES.length;
  const n = pred.members * pred.rows;
  const { mean: dMean, std: dStd } = scalers.delta;
  const rMean = scalers.reward.mean[0]!;
  const rStd = scalers.reward.std[0]!;
  const K = OUTCOMES.length;
  for (let r = 0; r < n; r++) {
    const base = r * OUTPUT_SIZE;
    for (let j = 0; j < STATE_DIMS; j++) {
      pred.delta[r * STATE_DIMS + j] = out[base + OUT_DELTA + j]! * dStd[j]! + dMean[j]!;
      if (logVar && pred.deltaStd) {
        pred.deltaStd[r * STATE_DIMS + j] = Math.exp(0.5 * logVar[base + OUT_DELTA + j]!) * dStd[j]!;
      }
    }
    pred.reward[r] = out[base + OUT_REWARD]! * rStd + rMean;
    if (logVar && pred.rewardStd) pred.rewardStd[r] = Math.exp(0.5 * logVar[base + OUT_REWARD]!) * rStd;
    for (let j = 0; j < CONTACT_DIMS; j++) {
      pred.contactProb[r * CONTACT_DIMS + j] = 1 / (1 + Math.exp(-out[base + OUT_CONTACTS + j]!));
    }
    const b = perMember ? Math.floor(r / pred.rows) * K : 0;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < K; j++) max = Math.max(max, out[base + OUT_OUTCOME + j]! + outcomeOffsets[b + j]!);
    let total = 0;
    for (let j = 0; j < K; j++) {
      const e = Math.exp(out[base + OUT_OUTCOME + j]! + outcomeOffsets[b + j]! - max);
      pred.outcomeProb[r * K + j] = e;
      total += e;
    }
    for (let j = 0; j < K; j++) pred.outcomeProb[r * K + j]! /= total;
  }
}
