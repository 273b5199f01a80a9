/**
 * The interface every dynamics model of the lander keeps (mlp, ensemble, gru), so the model environment,
 * the trainer and the report treat them alike: fit on real transitions, predict a batch, save, load.
 * Predictions are in the env's own units: the change of the continuous state, the contact and outcome
 * probabilities (calibrated), the reward of an ordinary step.
 */
import type { ModelActionSpace, Transitions } from './lander-layout.ts';
import type { LanderScalers } from './model-data.ts';
import type { FitOptions, FitReport } from './trainer.ts';

export type DynamicsKind = 'mlp' | 'ensemble' | 'gru' | 'article';

/** One batch of predictions of every member, [E, N, ...] member-major. */
export interface DynamicsPrediction {
  members: number;
  rows: number;
  /** [E, N, 6] mean change of the continuous state. */
  delta: Float32Array;
  /** [E, N, 6] standard deviation of the change (the aleatoric noise); null for deterministic models. */
  deltaStd: Float32Array | null;
  /** [E, N, 2] probability that each leg touches the ground after the step. */
  contactProb: Float32Array;
  /** [E, N] the reward of the step if it is an ordinary one. */
  reward: Float32Array;
  /** [E, N] its standard deviation; null for deterministic models. */
  rewardStd: Float32Array | null;
  /** [E, N, 3] probabilities of continue, crash, at rest (calibrated: the training's class weights undone). */
  outcomeProb: Float32Array;
}

/** Real transitions with where each sits in its episode, as recurrent models need them. */
export interface EpisodeTransitions extends Transitions {
  /** [count] episode id of each row. */
  episodes: ArrayLike<number>;
  /** [count] the row's step index within its episode (0 for the first step). */
  steps: ArrayLike<number>;
}

export interface DynamicsModel {
  readonly kind: DynamicsKind;
  readonly actionSpace: ModelActionSpace;
  /** E: members predicted per call (1 for mlp and gru). */
  readonly members: number;
  /** The members to use (all, or the best by validation loss: MBPO's elites). */
  readonly elites: readonly number[];
  readonly scalers: LanderScalers;
  /** Numbers of memory each copy carries between steps (a GRU's hidden state); 0 when memoryless. */
  readonly memorySize: number;
  /**
   * Predicts `rows` transitions from observations [rows, 8] and raw actions. `memory` [rows, memorySize]
   * (ignored when memorySize is 0) holds each copy's memory before the step and is updated in place. The
   * returned arrays are the model's own and are overwritten by the next call.
   */
  predict(
    observations: Float32Array,
    actions: ArrayLike<number>,
    rows: number,
    memory: Float32Array | null,
  ): DynamicsPrediction;
  /**
   * Optional, memoryless models: predicts each row by its own member `members[i]` only, in `predict`'s
   * layout (other members' entries are stale), for callers that use one member per row and no
   * disagreement: cheaper when members are many.
   */
  predictAssigned?(
    observations: Float32Array,
    actions: ArrayLike<number>,
    rows: number,
    members: Int32Array,
  ): DynamicsPrediction;
  /**
   * Fits on `train`, early-stopping on `validation` (both real transitions of separate episodes). The
   * first fit sets the scalers; later fits warm-start from the current weights and scalers.
   */
  fit(train: EpisodeTransitions, validation: EpisodeTransitions, options?: Partial<FitOptions>): FitReport;
  /**
   * For a model with memory: resets the memory of `rows` copies and runs it through each copy's last real
   * steps ([rows, k, 8] observations and their actions, right-aligned, `counts[r]` of them real), as
   * training warms a window, so a rollout can start mid-episode with the memory it would have had.
   */
  warmMemory?(
    observations: Float32Array,
    actions: ArrayLike<number>,
    rows: number,
    k: number,
    counts: ArrayLike<number>,
    memory: Float32Array,
  ): void;
  /** Writes the model (weights, scalers, class weights, elites, config) to a safetensors file, atomically. */
  save(file: string, metadata?: Record<string, string>): void;
}
