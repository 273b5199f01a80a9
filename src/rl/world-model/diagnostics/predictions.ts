/**
 * A dynamics model's predictions on real transitions and its open-loop rollouts along real episodes, as
 * the report measures them. Every prediction here is the mean over the model's elites (for mlp and gru,
 * their one member): the mean change, the mean contact and outcome probabilities, the mean ordinary-step
 * reward; an ensemble's disagreement is that of model-vector-env.ts (`memberDisagreement`).
 *
 * Memory: a recurrent model (memorySize > 0) that can warm its memory (`warmMemory`, the gru) is warmed on
 * up to `warmSteps` real steps before each row or start, as its training warms a window (fewer at an
 * episode's start; zeros when there are none). A model with memory but no `warmMemory` starts from zeros.
 */
import { Rng } from '../../../tensor/index.ts';
import type { DynamicsModel, DynamicsPrediction, EpisodeTransitions } from '../dynamics-model.ts';
import type { EpisodeIndex } from '../episode-index.ts';
import { CONTACT_DIMS, OBSERVATION_SIZE, OUTCOMES, rawActionSize, STATE_DIMS } from '../lander-layout.ts';
import { memberDisagreement } from '../model-vector-env.ts';

/** A model that can warm its memory on real history (gru-model.ts's `warmMemory`). */
export interface MemoryWarmer {
  warmMemory(
    observations: Float32Array,
    actions: ArrayLike<number>,
    rows: number,
    k: number,
    counts: ArrayLike<number>,
    memory: Float32Array,
  ): void;
}

export function canWarmMemory(model: DynamicsModel): model is DynamicsModel & MemoryWarmer {
  return model.memorySize > 0 && typeof (model as Partial<MemoryWarmer>).warmMemory === 'function';
}

/** The real steps a model warms its memory on: its config's `warmup` where it has one, else 0. */
export function defaultWarmSteps(model: DynamicsModel): number {
  if (!canWarmMemory(model)) return 0;
  const warmup = (model as { config?: { warmup?: unknown } }).config?.warmup;
  return typeof warmup === 'number' && Number.isSafeInteger(warmup) && warmup >= 0 ? warmup : 0;
}

/**
 * Fresh memory [rows.length, memorySize] for copies about to predict real rows `rows`: warmed on up to `k`
 * real steps before each (right-aligned, as `warmMemory` takes them); null for a memoryless model.
 */
export function memoryBefore(
  model: DynamicsModel,
  t: EpisodeTransitions,
  index: EpisodeIndex,
  rows: ArrayLike<number>,
  k: number,
): Float32Array | null {
  if (model.memorySize === 0) return null;
  const n = rows.length;
  const memory = new Float32Array(n * model.memorySize);
  if (k === 0 || !canWarmMemory(model)) return memory;
  const a = rawActionSize(model.actionSpace);
  const observations = new Float32Array(n * k * OBSERVATION_SIZE);
  const actions = new Float32Array(n * k * a);
  const counts = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let r = index.previous[rows[i]!]!;
    let c = 0;
    // Walk back from the row before, filling positions k-1, k-2, ...
    while (r >= 0 && c < k) {
      const at = i * k + (k - 1 - c);
      observations.set(
        t.observations.subarray(r * OBSERVATION_SIZE, (r + 1) * OBSERVATION_SIZE),
        at * OBSERVATION_SIZE,
      );
      actions.set(t.actions.subarray(r * a, (r + 1) * a), at * a);
      c++;
      r = index.previous[r]!;
    }
    counts[i] = c;
  }
  model.warmMemory(observations, actions, n, k, counts, memory);
  return memory;
}

/** Predictions for real rows, each the mean over the elites. */
export interface ElitePredictions {
  count: number;
  /** [count, 6] mean change of the continuous state. */
  delta: Float32Array;
  /** [count, 2] probability of each leg's contact after the step. */
  contactProb: Float32Array;
  /** [count] reward of the step if it is an ordinary one. */
  reward: Float32Array;
  /** [count, 3] probabilities of continue, crash, at rest. */
  outcomeProb: Float32Array;
  /** [count] the elites' disagreement (0 with fewer than 2 elites). */
  disagreement: Float32Array;
}

export function allocateElitePredictions(count: number): ElitePredictions {
  return {
    count,
    delta: new Float32Array(count * STATE_DIMS),
    contactProb: new Float32Array(count * CONTACT_DIMS),
    reward: new Float32Array(count),
    outcomeProb: new Float32Array(count * OUTCOMES.length),
    disagreement: new Float32Array(count),
  };
}

/** Writes the elite mean of `pred`'s row i into `out`'s row `at`. */
export function writeEliteMean(
  model: DynamicsModel,
  pred: DynamicsPrediction,
  i: number,
  out: ElitePredictions,
  at: number,
): void {
  const elites = model.elites;
  const e = elites.length;
  const K = OUTCOMES.length;
  for (let j = 0; j < STATE_DIMS; j++) out.delta[at * STATE_DIMS + j] = 0;
  for (let j = 0; j < CONTACT_DIMS; j++) out.contactProb[at * CONTACT_DIMS + j] = 0;
  for (let j = 0; j < K; j++) out.outcomeProb[at * K + j] = 0;
  let reward = 0;
  for (const m of elites) {
    const src = m * pred.rows + i;
    for (let j = 0; j < STATE_DIMS; j++)
      out.delta[at * STATE_DIMS + j]! += pred.delta[src * STATE_DIMS + j]! / e;
    for (let j = 0; j < CONTACT_DIMS; j++) {
      out.contactProb[at * CONTACT_DIMS + j]! += pred.contactProb[src * CONTACT_DIMS + j]! / e;
    }
    for (let j = 0; j < K; j++) out.outcomeProb[at * K + j]! += pred.outcomeProb[src * K + j]! / e;
    reward += pred.reward[src]!;
  }
  out.reward[at] = reward / e;
  out.disagreement[at] = memberDisagreement(
    pred.delta,
    pred.members,
    pred.rows,
    i,
    elites,
    model.scalers.delta.std,
  );
}

export interface PredictOptions {
  /** Real steps before each row to warm a recurrent model's memory on (default: `defaultWarmSteps`). */
  warmSteps?: number;
  /** Rows per forward pass (default 4096). */
  chunk?: number;
}

/** One-step predictions (mean over elites) for every row of `t`, from its real observation and action. */
export function predictTransitions(
  model: DynamicsModel,
  t: EpisodeTransitions,
  index: EpisodeIndex,
  options: PredictOptions = {},
): ElitePredictions {
  const chunk = options.chunk ?? 4096;
  const warmSteps = options.warmSteps ?? defaultWarmSteps(model);
  const a = rawActionSize(model.actionSpace);
  const out = allocateElitePredictions(t.count);
  for (let start = 0; start < t.count; start += chunk) {
    const n = Math.min(chunk, t.count - start);
    const rows = Int32Array.from({ length: n }, (_, i) => start + i);
    const memory = memoryBefore(model, t, index, rows, warmSteps);
    const pred = model.predict(
      t.observations.subarray(start * OBSERVATION_SIZE, (start + n) * OBSERVATION_SIZE),
      t.actions.subarray(start * a, (start + n) * a),
      n,
      memory,
    );
    for (let i = 0; i < n; i++) writeEliteMean(model, pred, i, out, start + i);
  }
  return out;
}

/** Open-loop rollouts of a model along real episodes, under the real actions. */
export interface OpenLoopRollout {
  /** [T] the real row each trajectory starts from. */
  starts: Int32Array;
  /** S: most steps rolled. */
  steps: number;
  /** [T, S, 8] the model's observation after each step (NaN past the trajectory's length). */
  predicted: Float32Array;
  /** [T, S] the real row of each step (its nextObservation is the real state after it); -1 past the length. */
  rows: Int32Array;
  /** [T] steps rolled: S, or fewer where the real episode's stored rows ended first. */
  lengths: Int32Array;
}

/**
 * Rolls `model` forward from the real observation of each row in `starts` for up to `steps` steps, feeding
 * it its own predictions (the elites' mean change added to the state; each contact 1 where its mean
 * probability passes 0.5, as the model env does without sampling) and the real actions of the episode's
 * following rows; a trajectory stops where the real episode's rows end. All live trajectories go through
 * the model together, one forward pass per step.
 */
export function rollOpenLoop(
  model: DynamicsModel,
  t: EpisodeTransitions,
  index: EpisodeIndex,
  starts: ArrayLike<number>,
  steps: number,
  options: { warmSteps?: number } = {},
): OpenLoopRollout {
  const T = starts.length;
  const S = steps;
  const O = OBSERVATION_SIZE;
  const a = rawActionSize(model.actionSpace);
  const H = model.memorySize;
  const warmSteps = options.warmSteps ?? defaultWarmSteps(model);
  const predicted = new Float32Array(T * S * O).fill(Number.NaN);
  const rows = new Int32Array(T * S).fill(-1);
  const lengths = new Int32Array(T);
  const state = new Float32Array(T * O);
  const current = Int32Array.from(starts);
  for (let k = 0; k < T; k++) {
    state.set(t.observations.subarray(current[k]! * O, (current[k]! + 1) * O), k * O);
  }
  const memory = memoryBefore(model, t, index, current, warmSteps);
  let active = Array.from({ length: T }, (_, k) => k);
  const obs = new Float32Array(T * O);
  const act = new Float32Array(T * a);
  const mem = memory ? new Float32Array(T * H) : null;
  const mean = allocateElitePredictions(T);
  for (let s = 0; s < S && active.length > 0; s++) {
    const A = active.length;
    active.forEach((k, j) => {
      obs.set(state.subarray(k * O, (k + 1) * O), j * O);
      act.set(t.actions.subarray(current[k]! * a, (current[k]! + 1) * a), j * a);
      if (mem && memory) mem.set(memory.subarray(k * H, (k + 1) * H), j * H);
    });
    const pred = model.predict(
      obs.subarray(0, A * O),
      act.subarray(0, A * a),
      A,
      mem ? mem.subarray(0, A * H) : null,
    );
    const still: number[] = [];
    active.forEach((k, j) => {
      if (mem && memory) memory.set(mem.subarray(j * H, (j + 1) * H), k * H);
      writeEliteMean(model, pred, j, mean, j);
      for (let d = 0; d < STATE_DIMS; d++) state[k * O + d]! += mean.delta[j * STATE_DIMS + d]!;
      for (let c = 0; c < CONTACT_DIMS; c++) {
        state[k * O + STATE_DIMS + c] = mean.contactProb[j * CONTACT_DIMS + c]! > 0.5 ? 1 : 0;
      }
      predicted.set(state.subarray(k * O, (k + 1) * O), (k * S + s) * O);
      rows[k * S + s] = current[k]!;
      lengths[k] = s + 1;
      const next = index.next[current[k]!]!;
      if (next >= 0) {
        current[k] = next;
        still.push(k);
      }
    });
    active = still;
  }
  return { starts: Int32Array.from(starts), steps: S, predicted, rows, lengths };
}

/** One horizon's open-loop error. */
export interface HorizonError {
  horizon: number;
  /** Trajectories whose real episode lasted at least `horizon` steps from their start. */
  trajectories: number;
  /** RMSE of each continuous dimension (x, y, vx, vy, angle, angular velocity), env units; null for none. */
  rmse: (number | null)[];
  /** The mean over the dimensions of rmse / the std of the dimension's values; null for no trajectory. */
  scalar: number | null;
}

/**
 * The error of a rollout's state after each of `horizons` steps against the real state then. `valueStd`:
 * the standard deviation of each continuous dimension's values (the scalar's units).
 */
export function openLoopErrors(
  rollout: OpenLoopRollout,
  t: EpisodeTransitions,
  horizons: readonly number[],
  valueStd: ArrayLike<number>,
): HorizonError[] {
  const O = OBSERVATION_SIZE;
  const S = rollout.steps;
  return horizons.map((horizon) => {
    if (horizon > S) throw new Error(`openLoopErrors: horizon ${horizon} is past the rollout's ${S} steps`);
    const sq = new Float64Array(STATE_DIMS);
    let trajectories = 0;
    for (let k = 0; k < rollout.starts.length; k++) {
      if (rollout.lengths[k]! < horizon) continue;
      trajectories++;
      const at = k * S + horizon - 1;
      const row = rollout.rows[at]!;
      for (let d = 0; d < STATE_DIMS; d++) {
        sq[d]! += (rollout.predicted[at * O + d]! - t.nextObservations[row * O + d]!) ** 2;
      }
    }
    if (trajectories === 0) {
      return { horizon, trajectories, rmse: new Array<number | null>(STATE_DIMS).fill(null), scalar: null };
    }
    const rmse = Array.from(sq, (v) => Math.sqrt(v / trajectories));
    const scalar = rmse.reduce((sum, v, d) => sum + v / Math.max(valueStd[d]!, 1e-12), 0) / STATE_DIMS;
    return { horizon, trajectories, rmse, scalar };
  });
}

/** `count` distinct rows of `rows` drawn uniformly with `seed` (all of them, in order, when count >= rows). */
export function chooseRows(rows: number, count: number, seed: number): Int32Array {
  if (count >= rows) return Int32Array.from({ length: rows }, (_, i) => i);
  const pool = Int32Array.from({ length: rows }, (_, i) => i);
  const rng = new Rng(seed);
  for (let i = 0; i < count; i++) {
    const j = rng.integer(i, rows);
    const v = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = v;
  }
  return pool.slice(0, count).sort();
}
