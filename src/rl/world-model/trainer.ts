/**
 * Fitting a world model: AdamW (weight decay) over minibatches the model draws itself (bootstrapped per
 * member for an ensemble, windows for a recurrent model), validation after each epoch with the error of
 * every predicted dimension, early stopping when the validation loss has not improved by `minImprovement`
 * (relative) for `patience` epochs, and the best epoch's weights restored at the end (as MBPO's and
 * mbrl-lib's trainers do). A refit on a grown buffer starts from the current weights (warm start).
 */
import { AdamW, clipGradNorm } from '../../nn/index.ts';
import { atTopLevel, noGrad, Rng, type Tensor, tidy } from '../../tensor/index.ts';
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
import type { ModelData } from './model-data.ts';

export interface FitOptions {
  /** Most epochs. */
  maxEpochs: number;
  /** Gradient steps per epoch; 0 means one pass over the training rows. */
  stepsPerEpoch: number;
  /** Rows (or windows) per member per gradient step. */
  batchSize: number;
  /** AdamW's step size. */
  learningRate: number;
  /** AdamW's decoupled weight decay. */
  weightDecay: number;
  /** Clip the global gradient norm to this (a rare huge error must not wreck the weights). */
  maxGradNorm: number;
  /**
   * Also clip every gradient element to [-clipValue, clipValue] after the norm clipping (PyTorch's
   * `clip_grad_value_`; the article's model clipped at 0.5). Unset (the default): no value clipping.
   */
  clipValue?: number;
  /** Epochs without a relative improvement of `minImprovement` before stopping. */
  patience: number;
  /** Relative improvement of the validation loss that counts (MBPO: 1%). */
  minImprovement: number;
  /** Stop after this many seconds, whatever the validation says. */
  maxSeconds: number;
  /** Seed of the minibatch draws. */
  seed: number;
  /**
   * Ensemble and mlp models (gru and article refuse another value): how many times a row where a leg contact turns on (a touchdown)
   * counts in the state and contact terms, in training and in the validation loss early stopping watches.
   * 1 counts every row once. Measured on a loop's own data (seed 2, 188k rows): 413 touchdowns (0.2%)
   * against 46.7k rows hovering within 6 cm of the pad, and the uniformly fitted ensemble gave those
   * touchdowns a mean contact probability of 0.07 (3 of 413 above 0.5): its imagined landers fell through
   * the pad, and its policy learned to hover above it.
   */
  contactEventWeight: number;
  /** Called after every epoch (a progress bar, metrics.jsonl). */
  onEpoch?: (epoch: EpochMetrics) => void;
  /**
   * Other main-thread work a fit split across threads runs while it waits for its helper: each call runs
   * one short unit (a gradient step, a validation pass) and says whether it ran one (false: nothing left).
   * See `stepsOf`.
   */
  whileWaiting?: () => boolean;
}

export const defaultFitOptions: Readonly<FitOptions> = Object.freeze({
  maxEpochs: 100,
  stepsPerEpoch: 0,
  batchSize: 256,
  learningRate: 1e-3,
  weightDecay: 1e-5,
  maxGradNorm: 10,
  patience: 5,
  minImprovement: 0.01,
  maxSeconds: Number.POSITIVE_INFINITY,
  seed: 1,
  contactEventWeight: 1,
});

/** Validation errors, in normalised units, of every prediction (means over members for an ensemble). */
export interface ValidationErrors {
  /**
   * What early stopping watches: the training loss's terms on the validation rows, except that the outcome
   * counts by its calibrated (unweighted) negative log-likelihood.
   */
  loss: number;
  /** Squared error of each state-change dimension (x, y, vx, vy, angle, angular velocity). */
  state: number[];
  /** Squared error of the ordinary-step reward. */
  reward: number;
  /** Binary cross-entropy of each leg contact. */
  contacts: number[];
  /** Unweighted negative log-likelihood of the outcome (calibrated probabilities). */
  outcome: number;
  /** The loss of each member (one entry for a single model). */
  members: number[];
}

export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  validation: ValidationErrors;
  seconds: number;
  /** Steps whose gradient norm was not finite, skipped. */
  skippedSteps: number;
}

export interface FitReport {
  epochs: EpochMetrics[];
  bestEpoch: number;
  stoppedBecause: 'patience' | 'maxEpochs' | 'maxSeconds';
  seconds: number;
  /** Gradient steps applied (skipped ones not counted: see each epoch's `skippedSteps`). */
  gradientSteps: number;
}

/** What a model gives the trainer. */
export interface Learner {
  parameters(): Tensor[];
  /** Training rows (or windows) per pass, to size an epoch. */
  readonly trainingRows: number;
  /** The loss on one minibatch the learner draws with `rng`. */
  trainingLoss(batchSize: number, rng: Rng): Tensor;
  validate(): ValidationErrors;
  /** A copy of the weights, and their restoration (for the best epoch). */
  snapshot(): Float32Array[];
  restore(snapshot: Float32Array[]): void;
  /**
   * One whole gradient step (loss, backward, clipping, the optimizer's step) in place of fitLearner's own,
   * for a learner that owns its optimizer (a fit split across threads); returns the loss, or NaN when the
   * gradient norm was not finite (the step skipped). `parameters` is not used then.
   */
  step?(batchSize: number, rng: Rng, options: FitOptions): number;
}

export function resolveFitOptions(overrides: Partial<FitOptions> = {}): FitOptions {
  const o = { ...defaultFitOptions, ...overrides };
  const positiveInts: (keyof FitOptions)[] = ['maxEpochs', 'batchSize', 'patience'];
  for (const key of positiveInts) {
    const v = o[key] as number;
    if (!Number.isSafeInteger(v) || v < 1)
      throw new Error(`fit: ${key} = ${v} is invalid; expected a positive integer`);
  }
  if (!Number.isSafeInteger(o.stepsPerEpoch) || o.stepsPerEpoch < 0) {
    throw new Error(`fit: stepsPerEpoch = ${o.stepsPerEpoch} is invalid; expected an integer >= 0`);
  }
  for (const key of ['learningRate', 'maxGradNorm', 'maxSeconds', 'contactEventWeight'] as const) {
    if (!(o[key] > 0)) throw new Error(`fit: ${key} = ${o[key]} is invalid; expected a positive number`);
  }
  if (o.clipValue !== undefined && !(o.clipValue > 0)) {
    throw new Error(`fit: clipValue = ${o.clipValue} is invalid; expected a positive number`);
  }
  for (const key of ['weightDecay', 'minImprovement'] as const) {
    if (!(o[key] >= 0) || !Number.isFinite(o[key])) {
      throw new Error(`fit: ${key} = ${o[key]} is invalid; expected a finite number >= 0`);
    }
  }
  return o;
}

/** For the models whose loss has no contact-event weighting (gru, article): a weight other than 1 is an error. */
export function requireUnweightedContacts(where: string, options: Partial<FitOptions>): void {
  const weight = options.contactEventWeight ?? 1;
  if (weight !== 1) {
    throw new Error(
      `${where}: contactEventWeight = ${weight} is not supported by this model (only ensemble and mlp weigh touchdowns); expected 1`,
    );
  }
}

/** Trains `learner` to early stop and leaves it at its best validation epoch. */
export function fitLearner(learner: Learner, overrides: Partial<FitOptions> = {}): FitReport {
  return runToEnd(fitLearnerSteps(learner, overrides));
}

/**
 * fitLearner as a generator that pauses after every gradient step and every validation pass, so that its
 * units can be run between another computation's (`stepsOf`); its result is fitLearner's report. It pauses
 * only between its `tidy` and `noGrad` blocks (their callbacks cannot yield), so each unit leaves both closed.
 */
export function* fitLearnerSteps(
  learner: Learner,
  overrides: Partial<FitOptions> = {},
): Generator<void, FitReport, void> {
  const options = resolveFitOptions(overrides);
  const rng = new Rng(options.seed);
  const params = learner.step ? [] : learner.parameters();
  const optimizer = learner.step
    ? null
    : new AdamW(params, { lr: options.learningRate, weightDecay: options.weightDecay });
  const steps = options.stepsPerEpoch || Math.max(1, Math.ceil(learner.trainingRows / options.batchSize));
  const started = performance.now();
  const epochs: EpochMetrics[] = [];
  let best = noGrad(() => learner.validate()).loss;
  let bestSnapshot = learner.snapshot();
  // Pauses between the long parts too (validation passes), so each unit stays short.
  yield;
  let bestEpoch = 0;
  let sinceImprovement = 0;
  let gradientSteps = 0;
  let stoppedBecause: FitReport['stoppedBecause'] = 'maxEpochs';
  for (let epoch = 1; epoch <= options.maxEpochs; epoch++) {
    const epochStart = performance.now();
    let total = 0;
    let skipped = 0;
    for (let s = 0; s < steps; s++) {
      const loss = learner.step
        ? learner.step(options.batchSize, rng, options)
        : tidy(() => {
            optimizer!.zeroGrad();
            const l = learner.trainingLoss(options.batchSize, rng);
            l.backward();
            const norm = clipGradNorm(params, options.maxGradNorm);
            if (!Number.isFinite(norm)) return Number.NaN;
            if (options.clipValue !== undefined) clipGradValue(params, options.clipValue);
            optimizer!.step();
            return l.item();
          });
      if (Number.isNaN(loss)) skipped++;
      else {
        total += loss;
        gradientSteps++;
      }
      yield;
    }
    if (skipped === steps) {
      throw new Error(
        `fit: every gradient step of epoch ${epoch} had a non-finite gradient; the data or the model diverged`,
      );
    }
    const validation = noGrad(() => learner.validate());
    const now = performance.now();
    yield;
    const metrics: EpochMetrics = {
      epoch,
      trainLoss: total / (steps - skipped),
      validation,
      seconds: (now - epochStart) / 1000,
      skippedSteps: skipped,
    };
    epochs.push(metrics);
    options.onEpoch?.(metrics);
    if (validation.loss < best - options.minImprovement * Math.abs(best)) {
      best = validation.loss;
      bestSnapshot = learner.snapshot();
      bestEpoch = epoch;
      sinceImprovement = 0;
    } else if (++sinceImprovement >= options.patience) {
      stoppedBecause = 'patience';
      break;
    }
    if ((now - started) / 1000 >= options.maxSeconds) {
      stoppedBecause = 'maxSeconds';
      break;
    }
  }
  learner.restore(bestSnapshot);
  return { epochs, bestEpoch, stoppedBecause, seconds: (performance.now() - started) / 1000, gradientSteps };
}

/** Runs a generator to its end and returns its result. */
export function runToEnd<T>(steps: Generator<void, T, void>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/**
 * A generator's units as `FitOptions.whileWaiting` runs them: `step` runs one at the top level (outside the
 * waiting computation's tidy scopes and grad mode) and says whether it ran one; `finish` runs the rest and
 * returns the result. An error a unit throws is kept and thrown by `finish`, so that it surfaces where a run
 * without interleaving would meet it, not in the middle of the computation that was waiting. Timings inside
 * the generator are wall-clock spans that include the other computation's time, so a fit interleaved this
 * way must not stop on `maxSeconds`.
 */
export function stepsOf<T>(steps: Generator<void, T, void>): { step: () => boolean; finish: () => T } {
  let ended: { value: T } | { error: unknown } | null = null;
  return {
    step: () => {
      if (ended) return false;
      try {
        const next = atTopLevel(() => steps.next());
        if (next.done) ended = { value: next.value };
      } catch (error) {
        ended = { error };
      }
      return true;
    },
    finish: () => {
      if (!ended) return runToEnd(steps);
      if ('error' in ended) throw ended.error;
      return ended.value;
    },
  };
}

/** Clamps every gradient element to [-clipValue, clipValue] in place (PyTorch's `clip_grad_value_`). */
export function clipGradValue(params: readonly Tensor[], clipValue: number): void {
  for (const p of params) {
    if (!p.grad) continue;
    const g = p.grad.data;
    for (let i = 0; i < g.length; i++) {
      if (g[i]! > clipValue) g[i] = clipValue;
      else if (g[i]! < -clipValue) g[i] = -clipValue;
    }
  }
}

/**
 * Validation errors of one member's normalised outputs `out` [rows, OUTPUT_SIZE] (and log-variances, if
 * any) against `data`; `logPrior` is subtracted from the outcome logits (undoing the class weights).
 */
export function memberErrors(
  out: Float32Array,
  logVar: Float32Array | null,
  data: ModelData,
  outcomeWeights: Float32Array,
  contactEventWeight = 1,
): Omit<ValidationErrors, 'members'> {
  const rows = data.rows;
  const state = new Array<number>(STATE_DIMS).fill(0);
  const contacts = new Array<number>(CONTACT_DIMS).fill(0);
  let reward = 0;
  let rewardRows = 0;
  let outcome = 0;
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * OUTPUT_SIZE;
    // As in training (model-loss.ts): a touchdown counts contactEventWeight times.
    const rowWeight = data.events?.[r] ? contactEventWeight : 1;
    for (let j = 0; j < STATE_DIMS; j++) {
      const k = base + OUT_DELTA + j;
      const diff = out[k]! - data.delta[r * STATE_DIMS + j]!;
      state[j]! += diff * diff;
      loss +=
        rowWeight * (logVar ? 0.5 * (diff * diff * Math.exp(-logVar[k]!) + logVar[k]!) : huberTerm(diff));
    }
    if (data.rewardMask[r]) {
      const k = base + OUT_REWARD;
      const diff = out[k]! - data.reward[r]!;
      reward += diff * diff;
      rewardRows++;
      loss += logVar ? 0.5 * (diff * diff * Math.exp(-logVar[k]!) + logVar[k]!) : huberTerm(diff);
    }
    for (let j = 0; j < CONTACT_DIMS; j++) {
      const z = out[base + OUT_CONTACTS + j]!;
      const y = data.contacts[r * CONTACT_DIMS + j]!;
      const bce = (z > 20 ? z : Math.log1p(Math.exp(z))) - y * z;
      contacts[j]! += bce;
      loss += rowWeight * bce;
    }
    const c = data.outcome[r]!;
    let maxCalibrated = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < OUTCOMES.length; j++) {
      maxCalibrated = Math.max(maxCalibrated, out[base + OUT_OUTCOME + j]! - Math.log(outcomeWeights[j]!));
    }
    let totalCalibrated = 0;
    for (let j = 0; j < OUTCOMES.length; j++) {
      totalCalibrated += Math.exp(
        out[base + OUT_OUTCOME + j]! - Math.log(outcomeWeights[j]!) - maxCalibrated,
      );
    }
    const outcomeNll =
      maxCalibrated +
      Math.log(totalCalibrated) -
      (out[base + OUT_OUTCOME + c]! - Math.log(outcomeWeights[c]!));
    outcome += outcomeNll;
    // Early stopping watches the calibrated (unweighted) outcome likelihood: with the training's class
    // weights, the few terminal rows of a validation set would make the loss swing from epoch to epoch.
    loss += outcomeNll;
  }
  return {
    loss: loss / rows,
    state: state.map((v) => v / rows),
    reward: rewardRows > 0 ? reward / rewardRows : 0,
    contacts: contacts.map((v) => v / rows),
    outcome: outcome / rows,
  };
}

/** The deterministic models' state and reward term of the loss (model-loss.ts): Huber with δ = 1, doubled. */
function huberTerm(diff: number): number {
  const a = Math.abs(diff);
  return a <= 1 ? diff * diff : 2 * a - 1;
}

/** The mean of members' errors, with each member's loss kept. */
export function meanErrors(perMember: Omit<ValidationErrors, 'members'>[]): ValidationErrors {
  const n = perMember.length;
  const mean = (pick: (e: Omit<ValidationErrors, 'members'>) => number) =>
    perMember.reduce((s, e) => s + pick(e), 0) / n;
  return {
    loss: mean((e) => e.loss),
    state: perMember[0]!.state.map((_, j) => mean((e) => e.state[j]!)),
    reward: mean((e) => e.reward),
    contacts: perMember[0]!.contacts.map((_, j) => mean((e) => e.contacts[j]!)),
    outcome: mean((e) => e.outcome),
    members: perMember.map((e) => e.loss),
  };
}
