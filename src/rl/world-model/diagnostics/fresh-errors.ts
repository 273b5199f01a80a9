/**
 * How wrong a model is on real episodes it was not fitted on (the newest ones a loop collected): what the
 * model-based loop sets its horizon, exploration and penalty from. Open-loop error at each horizon from
 * rows of the episodes under their real actions, the elites' mean disagreement on the visited states, and
 * how well that disagreement ranks the one-step error (Spearman).
 */
import type { DynamicsModel, EpisodeTransitions } from '../dynamics-model.ts';
import { indexEpisodes } from '../episode-index.ts';
import {
  chooseRows,
  type HorizonError,
  openLoopErrors,
  predictTransitions,
  rollOpenLoop,
} from './predictions.ts';
import { disagreementCalibration } from './transition-errors.ts';

export interface FreshErrors {
  /** Rows measured on. */
  rows: number;
  /** Open-loop error at each asked horizon (scalar: mean over dims of RMSE / `valueStd`). */
  openLoop: HorizonError[];
  /** Mean over rows of the elites' disagreement (0 for a single model). */
  meanDisagreement: number;
  /** Mean one-step error of the elites' mean, in units of the model's change spread. */
  meanOneStepError: number;
  /** Spearman of disagreement against one-step error over the rows; null when undefined (one member). */
  calibration: number | null;
}

export interface FreshErrorOptions {
  /** Horizons to measure open-loop error at. */
  horizons: readonly number[];
  /** Standard deviation of each continuous dimension's values: the open-loop scalar's units. */
  valueStd: ArrayLike<number>;
  /** Open-loop trajectories, from rows drawn with `seed`. */
  trajectories: number;
  seed: number;
}

export function freshErrors(
  model: DynamicsModel,
  t: EpisodeTransitions,
  options: FreshErrorOptions,
): FreshErrors {
  if (t.count === 0) throw new Error('freshErrors: no rows to measure on');
  const index = indexEpisodes(t, 'freshErrors');
  const longest = Math.max(...options.horizons);
  const starts = chooseRows(t.count, options.trajectories, options.seed);
  const rollout = rollOpenLoop(model, t, index, starts, longest);
  const openLoop = openLoopErrors(rollout, t, options.horizons, options.valueStd);
  const pred = predictTransitions(model, t, index);
  const calibration = disagreementCalibration(t, pred, model.scalers.delta.std);
  return {
    rows: t.count,
    openLoop,
    meanDisagreement: calibration.meanDisagreement,
    meanOneStepError: calibration.meanError,
    calibration: calibration.spearman,
  };
}

/** The open-loop error (scalar) at `horizon`, or null where it was not measured or had no trajectory. */
export function errorAtHorizon(fresh: FreshErrors, horizon: number): number | null {
  return fresh.openLoop.find((e) => e.horizon === horizon)?.scalar ?? null;
}
