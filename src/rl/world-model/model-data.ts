/**
 * Real transitions turned into what a lander model trains on: normalised inputs (observation and encoded
 * action) and targets (normalised state change, contacts, normalised ordinary reward, outcome class), with
 * the scalers fitted on the training data, and class weights that make the rare outcomes count.
 */
import {
  CONTACT_DIMS,
  checkTransitions,
  encodeActions,
  encodedActionSize,
  type ModelActionSpace,
  OBSERVATION_SIZE,
  OUTCOMES,
  outcomeOf,
  STATE_DIMS,
  type Transitions,
} from './lander-layout.ts';
import { Standardizer } from './standardizer.ts';

/** The statistics a model normalises its inputs and targets with; saved with the model. */
export class LanderScalers {
  readonly observation = new Standardizer(OBSERVATION_SIZE);
  readonly delta = new Standardizer(STATE_DIMS);
  readonly reward = new Standardizer(1);

  /**
   * Fits all three on `t`: the state change and the reward robustly (winsorised), the reward on ordinary
   * steps only (terminal rewards are outcomes).
   */
  fit(t: Transitions): this {
    this.observation.fit(t.observations, t.count);
    const delta = new Float32Array(t.count * STATE_DIMS);
    for (let r = 0; r < t.count; r++) {
      for (let j = 0; j < STATE_DIMS; j++) {
        delta[r * STATE_DIMS + j] =
          t.nextObservations[r * OBSERVATION_SIZE + j]! - t.observations[r * OBSERVATION_SIZE + j]!;
      }
    }
    // Robust: a few collision impulses must not set the scale of every ordinary step (standardizer.ts).
    this.delta.fit(delta, t.count, STATE_DIMS, 0, undefined, true);
    const ordinary = new Uint8Array(t.count);
    for (let r = 0; r < t.count; r++) ordinary[r] = t.terminated[r] ? 0 : 1;
    this.reward.fit(t.rewards, t.count, 1, 0, ordinary, true);
    return this;
  }

  toArrays(): Record<string, Float32Array> {
    return {
      'scaler.observation': this.observation.toArray(),
      'scaler.delta': this.delta.toArray(),
      'scaler.reward': this.reward.toArray(),
    };
  }

  fromArrays(arrays: Record<string, Float32Array | undefined>, source: string): this {
    for (const [name, scaler] of [
      ['scaler.observation', this.observation],
      ['scaler.delta', this.delta],
      ['scaler.reward', this.reward],
    ] as const) {
      const values = arrays[name];
      if (!values) throw new Error(`${source}: missing '${name}'`);
      scaler.fromArray(values, `${source}: '${name}'`);
    }
    return this;
  }
}

/** Inputs and targets of `rows` transitions, row-aligned. */
export interface ModelData {
  rows: number;
  inputSize: number;
  /** [rows, inputSize]: normalised observation, then the encoded action. */
  inputs: Float32Array;
  /** [rows, 6]: normalised change of the continuous state. */
  delta: Float32Array;
  /** [rows, 2]: next leg contacts, 0 or 1. */
  contacts: Float32Array;
  /** [rows]: normalised reward (meaningful where rewardMask is 1). */
  reward: Float32Array;
  /** [rows]: 1 on ordinary steps, 0 on terminal ones (whose reward is the outcome's). */
  rewardMask: Float32Array;
  /** [rows]: outcome class. */
  outcome: Uint8Array;
  /**
   * [rows]: 1 where a leg contact turns on (a touchdown): `contactEventWeight`'s rows. Not lift-offs: most
   * happen on the pad, where Gymnasium clears a leg's flag as it crosses a terrain edge, and their slight drop
   * (mean vy change -0.019 against 0.0003 for other standing rows, on a 200k-step run's buffer), weighted,
   * taught the model that a standing lander sinks (its predicted vy change -0.0043 against the real -0.0010),
   * so imagined landers never came to rest.
   */
  events: Uint8Array;
}

/** The model input width for an action space: 8 observation numbers and the encoded action. */
export function modelInputSize(space: ModelActionSpace): number {
  return OBSERVATION_SIZE + encodedActionSize(space);
}

/** Writes normalised model inputs for `rows` observation/action rows into `out` [rows, inputSize]. */
export function encodeInputs(
  space: ModelActionSpace,
  scalers: LanderScalers,
  observations: Float32Array,
  actions: ArrayLike<number>,
  rows: number,
  out: Float32Array,
): void {
  const width = modelInputSize(space);
  const { mean, std } = scalers.observation;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < OBSERVATION_SIZE; j++) {
      out[r * width + j] = (observations[r * OBSERVATION_SIZE + j]! - mean[j]!) / std[j]!;
    }
  }
  encodeActions(space, actions, rows, out, width, OBSERVATION_SIZE);
}

/** Inputs and targets of every transition of `t`, normalised with `scalers`. */
export function prepareModelData(t: Transitions, space: ModelActionSpace, scalers: LanderScalers): ModelData {
  checkTransitions('prepareModelData', t, space);
  const rows = t.count;
  const inputSize = modelInputSize(space);
  const inputs = new Float32Array(rows * inputSize);
  encodeInputs(space, scalers, t.observations, t.actions, rows, inputs);
  const delta = new Float32Array(rows * STATE_DIMS);
  const contacts = new Float32Array(rows * CONTACT_DIMS);
  const reward = new Float32Array(rows);
  const rewardMask = new Float32Array(rows);
  const outcome = new Uint8Array(rows);
  const events = new Uint8Array(rows);
  const { mean: dMean, std: dStd } = scalers.delta;
  const rMean = scalers.reward.mean[0]!;
  const rStd = scalers.reward.std[0]!;
  for (let r = 0; r < rows; r++) {
    const o = r * OBSERVATION_SIZE;
    for (let j = 0; j < STATE_DIMS; j++) {
      const change = t.nextObservations[o + j]! - t.observations[o + j]!;
      delta[r * STATE_DIMS + j] = (change - dMean[j]!) / dStd[j]!;
    }
    for (let j = 0; j < CONTACT_DIMS; j++) {
      contacts[r * CONTACT_DIMS + j] = t.nextObservations[o + STATE_DIMS + j]! > 0.5 ? 1 : 0;
      if (contacts[r * CONTACT_DIMS + j] === 1 && t.observations[o + STATE_DIMS + j]! <= 0.5) events[r] = 1;
    }
    outcome[r] = outcomeOf(t.terminated[r]!, t.rewards[r]!);
    rewardMask[r] = outcome[r] === 0 ? 1 : 0;
    reward[r] = rewardMask[r] ? (t.rewards[r]! - rMean) / rStd : 0;
  }
  return { rows, inputSize, inputs, delta, contacts, reward, rewardMask, outcome, events };
}

/**
 * Class weights for the outcome loss: rows / (classes x count), so each class weighs as much in total;
 * a class absent from the data gets the largest weight present. Models undo the weighting at prediction
 * (subtracting log w from the logits), so their probabilities stay calibrated.
 */
export function outcomeWeights(outcome: Uint8Array, rows = outcome.length): Float32Array {
  const counts = new Float64Array(OUTCOMES.length);
  for (let r = 0; r < rows; r++) counts[outcome[r]!]! += 1;
  const weights = new Float32Array(OUTCOMES.length);
  let largest = 1;
  for (let c = 0; c < OUTCOMES.length; c++) {
    if (counts[c]! > 0) {
      weights[c] = rows / (OUTCOMES.length * counts[c]!);
      largest = Math.max(largest, weights[c]!);
    }
  }
  for (let c = 0; c < OUTCOMES.length; c++) if (counts[c] === 0) weights[c] = largest;
  return weights;
}

/** Copies rows `indices` of `data` into `out` (same layout, out.rows >= indices.length). */
export function gatherRows(data: ModelData, indices: ArrayLike<number>, out: ModelData): void {
  const n = indices.length;
  const w = data.inputSize;
  const { inputs, delta, contacts } = data;
  // Element loops: a subarray per field and row cost more than the copies (the fit's serial part).
  for (let i = 0; i < n; i++) {
    const r = indices[i]!;
    for (let j = 0, from = r * w, to = i * w; j < w; j++) out.inputs[to + j] = inputs[from + j]!;
    for (let j = 0, from = r * STATE_DIMS, to = i * STATE_DIMS; j < STATE_DIMS; j++) {
      out.delta[to + j] = delta[from + j]!;
    }
    for (let j = 0, from = r * CONTACT_DIMS, to = i * CONTACT_DIMS; j < CONTACT_DIMS; j++) {
      out.contacts[to + j] = contacts[from + j]!;
    }
    out.reward[i] = data.reward[r]!;
    out.rewardMask[i] = data.rewardMask[r]!;
    out.outcome[i] = data.outcome[r]!;
    out.events[i] = data.events[r]!;
  }
}

/** An empty ModelData of `rows` rows, for minibatches. */
export function allocateModelData(rows: number, inputSize: number): ModelData {
  return {
    rows,
    inputSize,
    inputs: new Float32Array(rows * inputSize),
    delta: new Float32Array(rows * STATE_DIMS),
    contacts: new Float32Array(rows * CONTACT_DIMS),
    reward: new Float32Array(rows),
    rewardMask: new Float32Array(rows),
    outcome: new Uint8Array(rows),
    events: new Uint8Array(rows),
  };
}
