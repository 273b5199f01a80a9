/**
 * Hyperparameters that follow the model's measured quality (Zhang, Rajan, Pineda, Lambert et al. 2021,
 * "On the Importance of Hyperparameter Optimization for Model-based Reinforcement Learning": the best
 * horizon and exploration change as the model improves). Each rule is a plain function of measurements on
 * real episodes: the model's errors on episodes it was not fitted on (diagnostics/fresh-errors.ts), or the
 * exploring policy's own returns.
 */
import type { HorizonError } from './world-model/diagnostics/predictions.ts';

/**
 * The imagined horizon H: the largest candidate whose open-loop error stays under `limit`, checked in
 * increasing order and stopping at the first that fails (an error that dips again further out is luck,
 * not accuracy). The smallest candidate when none passes; `fallback` when nothing could be measured.
 */
export function chooseHorizon(
  errors: readonly HorizonError[],
  candidates: readonly number[],
  limit: number,
  fallback: number,
): number {
  const sorted = [...candidates].sort((a, b) => a - b);
  const first = sorted[0];
  if (first === undefined) throw new Error('chooseHorizon: no candidate horizons');
  const byHorizon = new Map(errors.map((e) => [e.horizon, e.scalar]));
  if (!sorted.some((h) => byHorizon.get(h) != null)) return fallback;
  let chosen = first;
  for (const h of sorted) {
    const scalar = byHorizon.get(h);
    if (scalar == null) continue;
    if (!(scalar < limit)) break;
    chosen = h;
  }
  return chosen;
}

/**
 * The exploration temperature: from `start` down to `floor` in proportion to the disagreement on visited
 * states against the first measured one (the ensemble still disagreeing where the policy goes means the
 * data there is thin, so keep exploring; once it agrees, act closer to the policy).
 */
export function explorationTemperature(
  disagreement: number,
  firstDisagreement: number,
  start: number,
  floor: number,
): number {
  if (!(firstDisagreement > 0) || !Number.isFinite(disagreement)) return start;
  const share = Math.min(1, Math.max(0, disagreement / firstDisagreement));
  return floor + (start - floor) * share;
}

/**
 * The disagreement penalty's weight: `base` times the measured rank correlation of disagreement with error
 * (clipped to [0, 1]): a disagreement that ranks the model's errors well is worth penalising, one that does
 * not would only add noise to the reward.
 */
export function uncertaintyWeight(base: number, calibration: number | null): number {
  if (calibration === null || !Number.isFinite(calibration)) return base;
  return base * Math.min(1, Math.max(0, calibration));
}

/**
 * A value that falls from `start` to `floor` as the exploring policy's mean real return (its last episodes of
 * collection, training data, not evaluation) rises from `low` to `high`; `start` while no episode has finished.
 *
 * PPO's entropy bonus follows it: a policy that does not yet land keeps the full bonus, so it keeps trying
 * actions the model has not seen rewarded; one that lands while exploring gets a sharper distribution, so its
 * greedy actions land too (with the full bonus the action probabilities near the pad stay flat, and the greedy
 * policy hovers while the sampling one lands).
 *
 * Optionally (`minPenaltyShare` below 1; off by default) so does the share of the penalty weights for what
 * the model does not know, from 1 to `minPenaltyShare`. The idea: pessimism helps a policy that has not landed
 * stay where the model is right, but once it lands it taxes the landing itself, where contact makes the
 * ensemble disagree however much data there is. Not borne out on the discrete lander (README, "The penalties").
 */
export function fallWithReturn(
  recentReturn: number | null,
  start: number,
  floor: number,
  low: number,
  high: number,
): number {
  if (recentReturn === null || !Number.isFinite(recentReturn) || !(high > low)) return start;
  const share = Math.min(1, Math.max(0, (recentReturn - low) / (high - low)));
  return start + (floor - start) * share;
}
