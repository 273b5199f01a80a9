/**
 * How wrong a dynamics model's one-step predictions are on real transitions (issue 11, "Knowing how
 * wrong"): the state change per dimension, the leg contacts, the reward (ordinary, contact-change and
 * terminal steps apart), the outcome as a classifier (crash, at rest), and whether the ensemble's
 * disagreement ranks its own errors. Inputs are the real transitions and the elite-mean predictions of
 * predictions.ts; every function is plain arithmetic.
 */
import {
  CONTACT_DIMS,
  CONTINUE,
  CRASH,
  OBSERVATION_SIZE,
  OUTCOMES,
  outcomeOf,
  REST,
  STATE_DIMS,
  TERMINAL_REWARD,
  type Transitions,
} from '../lander-layout.ts';
import type { ElitePredictions } from './predictions.ts';
import {
  auroc,
  type BinaryScores,
  bestF1Threshold,
  columnMoments,
  scoresOf,
  spearman,
  type ThresholdScores,
} from './statistics.ts';

/** The continuous dimensions' names, in order. */
export const STATE_NAMES = ['x', 'y', 'vx', 'vy', 'angle', 'angularVelocity'] as const;

/** Standard deviation of each continuous dimension's values over the observations of `t`. */
export function stateValueStd(t: Transitions): number[] {
  return Array.from(
    { length: STATE_DIMS },
    (_, d) => columnMoments(t.observations, t.count, OBSERVATION_SIZE, d).std,
  );
}

/** The real change of each continuous dimension, [count, 6]. */
export function realChanges(t: Transitions): Float32Array {
  const out = new Float32Array(t.count * STATE_DIMS);
  for (let r = 0; r < t.count; r++) {
    for (let d = 0; d < STATE_DIMS; d++) {
      out[r * STATE_DIMS + d] =
        t.nextObservations[r * OBSERVATION_SIZE + d]! - t.observations[r * OBSERVATION_SIZE + d]!;
    }
  }
  return out;
}

export interface OneStepErrors {
  rows: number;
  /** RMSE of the predicted change of each dimension, env units. */
  rmse: number[];
  /** The standard deviation of each dimension's real change on these rows. */
  changeStd: number[];
  /** rmse / changeStd per dimension (1 is no better than predicting the mean change). */
  relative: (number | null)[];
  /** Fraction of rows whose leg contact after the step is predicted right (probability > 0.5), per leg. */
  contactAccuracy: number[];
  /** Fraction of rows with both contacts right. */
  contactAccuracyBoth: number;
}

export function oneStepErrors(t: Transitions, pred: ElitePredictions): OneStepErrors {
  const n = t.count;
  const changes = realChanges(t);
  const rmse: number[] = [];
  const changeStd: number[] = [];
  const relative: (number | null)[] = [];
  for (let d = 0; d < STATE_DIMS; d++) {
    let sq = 0;
    for (let r = 0; r < n; r++) sq += (pred.delta[r * STATE_DIMS + d]! - changes[r * STATE_DIMS + d]!) ** 2;
    const e = n > 0 ? Math.sqrt(sq / n) : Number.NaN;
    const std = columnMoments(changes, n, STATE_DIMS, d).std;
    rmse.push(e);
    changeStd.push(std);
    relative.push(std > 0 ? e / std : null);
  }
  const right = new Array<number>(CONTACT_DIMS).fill(0);
  let both = 0;
  for (let r = 0; r < n; r++) {
    let all = true;
    for (let c = 0; c < CONTACT_DIMS; c++) {
      const predicted = pred.contactProb[r * CONTACT_DIMS + c]! > 0.5;
      const real = t.nextObservations[r * OBSERVATION_SIZE + STATE_DIMS + c]! > 0.5;
      if (predicted === real) right[c]!++;
      else all = false;
    }
    if (all) both++;
  }
  return {
    rows: n,
    rmse,
    changeStd,
    relative,
    contactAccuracy: right.map((v) => v / n),
    contactAccuracyBoth: both / n,
  };
}

/** The reward error of one kind of step. */
export interface RewardError {
  rows: number;
  /** Mean of predicted - real. */
  bias: number | null;
  rmse: number | null;
  meanAbsolute: number | null;
}

export interface RewardErrors {
  /** Non-terminal steps whose leg contacts did not change: the ordinary-step reward head against the real reward. */
  ordinary: RewardError;
  /** Non-terminal steps on which a leg's contact turned on or off (the shaping's ±10 jumps): the same head. */
  legContact: RewardError;
  /**
   * Terminal steps: the model's expected reward under its outcome probabilities (p(continue) x its ordinary
   * reward + p(crash) x -100 + p(at rest) x 100) against the real -100 or +100.
   */
  terminal: RewardError;
}

function rewardError(errors: number[]): RewardError {
  const n = errors.length;
  if (n === 0) return { rows: 0, bias: null, rmse: null, meanAbsolute: null };
  let sum = 0;
  let sq = 0;
  let abs = 0;
  for (const e of errors) {
    sum += e;
    sq += e * e;
    abs += Math.abs(e);
  }
  return { rows: n, bias: sum / n, rmse: Math.sqrt(sq / n), meanAbsolute: abs / n };
}

/** The expected reward of row r under the outcome probabilities. */
export function expectedReward(pred: ElitePredictions, r: number): number {
  const K = OUTCOMES.length;
  let value = pred.outcomeProb[r * K + CONTINUE]! * pred.reward[r]!;
  for (const k of [CRASH, REST]) value += pred.outcomeProb[r * K + k]! * TERMINAL_REWARD[k]!;
  return value;
}

export function rewardErrors(t: Transitions, pred: ElitePredictions): RewardErrors {
  const ordinary: number[] = [];
  const legContact: number[] = [];
  const terminal: number[] = [];
  const O = OBSERVATION_SIZE;
  for (let r = 0; r < t.count; r++) {
    if (t.terminated[r]) {
      terminal.push(expectedReward(pred, r) - t.rewards[r]!);
      continue;
    }
    let changed = false;
    for (let c = 0; c < CONTACT_DIMS; c++) {
      if (t.observations[r * O + STATE_DIMS + c] !== t.nextObservations[r * O + STATE_DIMS + c])
        changed = true;
    }
    (changed ? legContact : ordinary).push(pred.reward[r]! - t.rewards[r]!);
  }
  return {
    ordinary: rewardError(ordinary),
    legContact: rewardError(legContact),
    terminal: rewardError(terminal),
  };
}

/** The outcome head as a detector of one terminal class. */
export interface OutcomeClassMetrics {
  /** Rows of this class. */
  actual: number;
  /** The sum of its predicted probabilities: the expected count (calibration: close to `actual`). */
  expected: number;
  /** Predicting the class where it is the most likely of the three. */
  argmax: BinaryScores;
  /** Predicting it where its probability reaches the threshold with the best F1; null with no such rows. */
  bestThreshold: ThresholdScores | null;
  /** AUROC of its probability separating its rows from the rest; null when either side is empty. */
  auroc: number | null;
}

export interface OutcomeMetrics {
  rows: number;
  crash: OutcomeClassMetrics;
  rest: OutcomeClassMetrics;
  /** Expected and actual counts of continue, crash, at rest. */
  expectedCounts: number[];
  actualCounts: number[];
}

/** The expected count of each class (the sum of its probabilities over rows) and the actual count. */
export function expectedCounts(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
): { expected: number[]; actual: number[] } {
  const rows = labels.length;
  if (probabilities.length < rows * classes) {
    throw new Error(
      `expectedCounts: ${probabilities.length} probabilities for ${rows} rows x ${classes} classes`,
    );
  }
  const expected = new Array<number>(classes).fill(0);
  const actual = new Array<number>(classes).fill(0);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < classes; k++) expected[k]! += probabilities[r * classes + k]!;
    actual[labels[r]!]!++;
  }
  return { expected, actual };
}

export function outcomeMetrics(t: Transitions, pred: ElitePredictions): OutcomeMetrics {
  const n = t.count;
  const K = OUTCOMES.length;
  const labels = new Uint8Array(n);
  const argmax = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    labels[r] = outcomeOf(t.terminated[r]!, t.rewards[r]!);
    let best = 0;
    for (let k = 1; k < K; k++) if (pred.outcomeProb[r * K + k]! > pred.outcomeProb[r * K + best]!) best = k;
    argmax[r] = best;
  }
  const counts = expectedCounts(pred.outcomeProb, labels, K);
  const perClass = (c: number): OutcomeClassMetrics => {
    const scores = new Float32Array(n);
    const isClass = new Uint8Array(n);
    const predicted = new Uint8Array(n);
    for (let r = 0; r < n; r++) {
      scores[r] = pred.outcomeProb[r * K + c]!;
      isClass[r] = labels[r] === c ? 1 : 0;
      predicted[r] = argmax[r] === c ? 1 : 0;
    }
    return {
      actual: counts.actual[c]!,
      expected: counts.expected[c]!,
      argmax: scoresOf(predicted, isClass),
      bestThreshold: bestF1Threshold(scores, isClass),
      auroc: auroc(scores, isClass),
    };
  };
  return {
    rows: n,
    crash: perClass(CRASH),
    rest: perClass(REST),
    expectedCounts: counts.expected,
    actualCounts: counts.actual,
  };
}

export interface DisagreementCalibration {
  rows: number;
  /**
   * Spearman's correlation over rows of the elites' disagreement and the one-step error of their mean
   * prediction (the mean over dimensions of |error| / the model's change std, the disagreement's units).
   */
  spearman: number | null;
  meanDisagreement: number;
  meanError: number;
}

/** Per-row one-step error of the mean prediction, in units of `spread` (the model's change std). */
export function oneStepErrorInSpread(
  t: Transitions,
  pred: ElitePredictions,
  spread: ArrayLike<number>,
): Float64Array {
  const changes = realChanges(t);
  const out = new Float64Array(t.count);
  for (let r = 0; r < t.count; r++) {
    let total = 0;
    for (let d = 0; d < STATE_DIMS; d++) {
      total += Math.abs(pred.delta[r * STATE_DIMS + d]! - changes[r * STATE_DIMS + d]!) / spread[d]!;
    }
    out[r] = total / STATE_DIMS;
  }
  return out;
}

export function disagreementCalibration(
  t: Transitions,
  pred: ElitePredictions,
  spread: ArrayLike<number>,
): DisagreementCalibration {
  const errors = oneStepErrorInSpread(t, pred, spread);
  const n = t.count;
  let d = 0;
  let e = 0;
  for (let r = 0; r < n; r++) {
    d += pred.disagreement[r]!;
    e += errors[r]!;
  }
  return {
    rows: n,
    spearman: spearman(pred.disagreement.subarray(0, n), errors),
    meanDisagreement: d / n,
    meanError: e / n,
  };
}
