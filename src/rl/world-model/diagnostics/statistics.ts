/**
 * Plain statistics the model report rests on, on typed arrays: ranks with ties averaged, Spearman's rank
 * correlation, the area under the ROC curve, precision / recall / F1 at a threshold and at the threshold
 * that maximises F1, and the mean and standard deviation. No model code here; every function is checked on
 * hand-made inputs in test/model-report.test.ts.
 */

/** The rank of each value (1 = smallest), ties given the mean of the ranks they span. */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(n);
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && values[order[end]!]! === values[order[start]!]!) end++;
    // Positions start..end-1 hold equal values: ranks start+1..end, mean (start + 1 + end) / 2.
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]!] = rank;
    start = end;
  }
  return ranks;
}

/** Pearson's correlation of two equally long series; null when either is constant or shorter than 2. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number | null {
  const n = a.length;
  if (b.length !== n)
    throw new Error(`pearson: series of ${n} and ${b.length} values; expected equal lengths`);
  if (n < 2) return null;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return null;
  return sab / Math.sqrt(saa * sbb);
}

/**
 * Spearman's rank correlation: Pearson's correlation of the average ranks (so ties are handled); null when
 * either series is constant or shorter than 2.
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number | null {
  if (a.length !== b.length) {
    throw new Error(`spearman: series of ${a.length} and ${b.length} values; expected equal lengths`);
  }
  return pearson(averageRanks(a), averageRanks(b));
}

/**
 * The area under the ROC curve of `scores` (higher = more likely positive) against `labels` (truthy =
 * positive): the chance that a random positive scores above a random negative, ties counting half (the
 * Mann-Whitney U over the product of the class sizes). null when either class is empty.
 */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): number | null {
  const n = scores.length;
  if (labels.length !== n) {
    throw new Error(`auroc: ${n} scores and ${labels.length} labels; expected one label per score`);
  }
  const ranks = averageRanks(scores);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i]) {
      positives++;
      rankSum += ranks[i]!;
    }
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** The AUROC of telling `positives` (scored higher, hopefully) from `negatives`. */
export function separationAuroc(negatives: ArrayLike<number>, positives: ArrayLike<number>): number | null {
  const scores = new Float64Array(negatives.length + positives.length);
  const labels = new Uint8Array(scores.length);
  for (let i = 0; i < negatives.length; i++) scores[i] = negatives[i]!;
  for (let i = 0; i < positives.length; i++) {
    scores[negatives.length + i] = positives[i]!;
    labels[negatives.length + i] = 1;
  }
  return auroc(scores, labels);
}

/** Precision, recall and F1 of a binary prediction; each null where its denominator is 0. */
export interface BinaryScores {
  /** Rows predicted positive. */
  predicted: number;
  truePositives: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

export function binaryScores(
  truePositives: number,
  falsePositives: number,
  falseNegatives: number,
): BinaryScores {
  const tp = truePositives;
  const predicted = tp + falsePositives;
  const actual = tp + falseNegatives;
  return {
    predicted,
    truePositives: tp,
    precision: predicted > 0 ? tp / predicted : null,
    recall: actual > 0 ? tp / actual : null,
    f1: predicted + actual > 0 ? (2 * tp) / (predicted + actual) : null,
  };
}

/** Scores of predicting positive exactly where `predicted[i]` is truthy. */
export function scoresOf(
  predicted: ArrayLike<number | boolean>,
  labels: ArrayLike<number | boolean>,
): BinaryScores {
  if (predicted.length !== labels.length) {
    throw new Error(
      `scoresOf: ${predicted.length} predictions and ${labels.length} labels; expected equal lengths`,
    );
  }
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    if (predicted[i] && labels[i]) tp++;
    else if (predicted[i]) fp++;
    else if (labels[i]) fn++;
  }
  return binaryScores(tp, fp, fn);
}

export interface ThresholdScores extends BinaryScores {
  /** Predict positive where score >= threshold. */
  threshold: number;
}

/**
 * The threshold on `scores` (predict positive where score >= threshold, tried at every distinct score)
 * whose F1 is highest, with its precision and recall; the highest such threshold on ties. null when no
 * label is positive (no threshold has an F1 above 0 to find).
 */
export function bestF1Threshold(
  scores: ArrayLike<number>,
  labels: ArrayLike<number | boolean>,
): ThresholdScores | null {
  const n = scores.length;
  if (labels.length !== n) {
    throw new Error(`bestF1Threshold: ${n} scores and ${labels.length} labels; expected equal lengths`);
  }
  let positives = 0;
  for (let i = 0; i < n; i++) if (labels[i]) positives++;
  if (positives === 0) return null;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let best: ThresholdScores | null = null;
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n; ) {
    const threshold = scores[order[k]!]!;
    // Take every row scoring exactly `threshold` at once: a threshold cannot split ties.
    while (k < n && scores[order[k]!]! === threshold) {
      if (labels[order[k]!]) tp++;
      else fp++;
      k++;
    }
    const s = binaryScores(tp, fp, positives - tp);
    if (best === null || s.f1! > best.f1!) best = { threshold, ...s };
  }
  return best;
}

/** Mean and (population) standard deviation of column `column` of rows of `width` numbers. */
export function columnMoments(
  values: ArrayLike<number>,
  rows: number,
  width: number,
  column: number,
): { mean: number; std: number } {
  if (rows === 0) return { mean: Number.NaN, std: Number.NaN };
  let sum = 0;
  for (let r = 0; r < rows; r++) sum += values[r * width + column]!;
  const mean = sum / rows;
  let sq = 0;
  for (let r = 0; r < rows; r++) sq += (values[r * width + column]! - mean) ** 2;
  return { mean, std: Math.sqrt(sq / rows) };
}

/** The arithmetic mean; NaN for no values. */
export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return Number.NaN;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s / values.length;
}
