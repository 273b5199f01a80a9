/**
 * The loss of a lander model's output rows, fused into one op (one pass forward computes every term and its
 * derivative; backward scales them), since a model's output mixes four kinds of prediction
 * (lander-layout.ts):
 *   state change:  Gaussian NLL ½((y - μ)² e^{-s} + s) where a log-variance s is predicted (PETS, Chua et al.
 *                  2018, eq. 3), else the Huber loss with δ = 1 (twice Huber's, so it is (y - μ)² near 0):
 *                  the lander's collisions are rare, huge changes that squared error would chase;
 *   reward:        the same, on ordinary steps only (a terminal step's reward is its outcome's);
 *   leg contacts:  binary cross-entropy with logits, softplus(z) - y z;
 *   outcome:       cross-entropy weighted by class, w_c (logsumexp(z) - z_c), so rare crashes and landings
 *                  count.
 * The loss is the sum of the terms averaged over rows.
 */
import {
  gradBuffer,
  needsGrad,
  recordGraph,
  resultTensor,
  shapeString,
  type Tensor,
} from '../../tensor/index.ts';
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

/** The terms of one loss evaluation, each averaged over rows. */
export interface LossParts {
  state: number;
  reward: number;
  contacts: number;
  outcome: number;
}

function softplus(x: number): number {
  return x > 20 ? x : Math.log1p(Math.exp(x));
}

/**
 * The loss of `out` [..., OUTPUT_SIZE] (row r of the flattened leading axes against target row r) with an
 * optional `logVar` of the same shape (only its state and reward entries are read). Returns a scalar tensor
 * and its parts.
 */
export function landerModelLoss(
  out: Tensor,
  logVar: Tensor | null,
  targets: ModelData,
  outcomeWeights: Float32Array,
  contactEventWeight = 1,
): { loss: Tensor; parts: LossParts } {
  out.assertAlive('landerModelLoss');
  const rows = out.size / OUTPUT_SIZE;
  if (out.shape[out.ndim - 1] !== OUTPUT_SIZE || !Number.isInteger(rows) || rows > targets.rows) {
    throw new Error(
      `landerModelLoss: output of shape ${shapeString(out.shape)} does not fit; expected [..., ${OUTPUT_SIZE}] ` +
        `with at most ${targets.rows} rows`,
    );
  }
  if (logVar && logVar.size !== out.size) {
    throw new Error(
      `landerModelLoss: logVar ${shapeString(logVar.shape)} does not match ${shapeString(out.shape)}`,
    );
  }
  const dOut = resultTensor(out.shape, true);
  const dLv = logVar ? resultTensor(logVar.shape, true) : null;
  const d = dOut.data;
  const dl = dLv ? dLv.data : null;
  const sums = lossSums();
  const all = { out: out.data, logVar: logVar?.data ?? null, first: 0, total: rows, dOut: d, dLogVar: dl };
  landerModelLossRows(all, targets, outcomeWeights, contactEventWeight, sums);
  const { loss, parts } = lossOfSums(sums, rows);
  const inputs = logVar ? [out, logVar] : [out];
  if (needsGrad(inputs)) {
    recordGraph(
      loss,
      inputs,
      (g) => {
        const scale = g[0]!;
        const go = gradBuffer(out);
        if (go) for (let i = 0; i < d.length; i++) go[i]! += scale * d[i]!;
        const gl = logVar ? gradBuffer(logVar) : null;
        if (gl && dl) for (let i = 0; i < dl.length; i++) gl[i]! += scale * dl[i]!;
      },
      'landerModelLoss',
      dLv ? [dOut, dLv] : [dOut],
    );
  }
  return { loss, parts };
}

/** Zeroed running sums for `landerModelLossRows`. */
export function lossSums(): LossParts {
  return { state: 0, reward: 0, contacts: 0, outcome: 0 };
}

/** Some consecutive rows of a batch, for `landerModelLossRows`. */
export interface LossRows {
  /** The rows' outputs, [n, OUTPUT_SIZE]. */
  out: Float32Array;
  /** Their log-variances of the same shape, or null (squared error in place of the Gaussian NLL). */
  logVar: Float32Array | null;
  /** The index in the batch of the first of these rows. */
  first: number;
  /** The batch's rows (every term is averaged over them). */
  total: number;
  /** Written: the loss's derivatives with respect to `out`, and to `logVar` (null where it is null). */
  dOut: Float32Array;
  dLogVar: Float32Array | null;
}

/**
 * Rows [first, first + n) of a batch, for a caller that computes one loss over the batch a few rows at a time
 * (a fit split across threads takes each member's rows as the helper delivers them). Adds the rows' terms to
 * `sums` in the order one `landerModelLoss` over the batch adds them, and writes the loss's derivatives for
 * these rows. After the last rows, `lossOfSums(sums, total)` is the batch's loss, and the derivatives are the
 * ones its backward pass applies: bit for bit the same numbers.
 */
export function landerModelLossRows(
  rows: LossRows,
  targets: ModelData,
  outcomeWeights: Float32Array,
  contactEventWeight: number,
  sums: LossParts,
): void {
  const { out: o, logVar: lv, first, total, dOut: d, dLogVar } = rows;
  const n = o.length / OUTPUT_SIZE;
  if (!Number.isInteger(n)) {
    throw new Error(`landerModelLossRows: ${o.length} outputs are not whole rows of ${OUTPUT_SIZE}`);
  }
  if (!Number.isInteger(first) || first < 0 || first + n > Math.min(total, targets.rows)) {
    throw new Error(
      `landerModelLossRows: ${n} rows from row ${first} do not fit a batch of ${total} rows ` +
        `(${targets.rows} targets)`,
    );
  }
  if (d.length !== o.length || (lv !== null && (lv.length !== o.length || dLogVar?.length !== o.length))) {
    throw new Error(
      `landerModelLossRows: ${o.length} outputs with ${lv?.length ?? 'no'} log-variances, ${d.length} ` +
        `output derivatives and ${dLogVar?.length ?? 'no'} log-variance derivatives; expected ${o.length} in each, ` +
        'the log-variance derivatives where log-variances are given',
    );
  }
  const dl = lv ? dLogVar : null;
  const inv = 1 / total;
  const K = OUTCOMES.length;
  for (let local = 0; local < n; local++) {
    const r = first + local;
    const base = local * OUTPUT_SIZE;
    // A touchdown row counts `contactEventWeight` times in its state and contact terms.
    const rowWeight = targets.events?.[r] ? contactEventWeight : 1;
    const winv = rowWeight * inv;
    // State change and reward: Gaussian NLL with a log-variance, else squared error.
    for (let j = 0; j <= STATE_DIMS; j++) {
      const isReward = j === STATE_DIMS;
      const mask = isReward ? targets.rewardMask[r]! : 1;
      if (mask === 0) continue;
      const k = base + (isReward ? OUT_REWARD : OUT_DELTA + j);
      const y = isReward ? targets.reward[r]! : targets.delta[r * STATE_DIMS + j]!;
      const w = isReward ? 1 : rowWeight;
      const diff = o[k]! - y;
      let value: number;
      if (lv && dl) {
        const s = lv[k]!;
        const invVar = Math.exp(-s);
        value = 0.5 * (diff * diff * invVar + s);
        d[k] = w * diff * invVar * inv;
        dl[k] = w * 0.5 * (1 - diff * diff * invVar) * inv;
      } else {
        // Huber (δ = 1 in robust-normalised units): a rare collision impulse pulls with a bounded force.
        const a = Math.abs(diff);
        value = a <= 1 ? diff * diff : 2 * a - 1;
        d[k] = w * (a <= 1 ? 2 * diff : diff > 0 ? 2 : -2) * inv;
      }
      if (isReward) sums.reward += value;
      else sums.state += w * value;
    }
    // Leg contacts: BCE with logits.
    for (let j = 0; j < CONTACT_DIMS; j++) {
      const k = base + OUT_CONTACTS + j;
      const z = o[k]!;
      const y = targets.contacts[r * CONTACT_DIMS + j]!;
      sums.contacts += rowWeight * (softplus(z) - y * z);
      d[k] = (1 / (1 + Math.exp(-z)) - y) * winv;
    }
    // Outcome: class-weighted cross-entropy.
    const c = targets.outcome[r]!;
    const w = outcomeWeights[c]!;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < K; j++) max = Math.max(max, o[base + OUT_OUTCOME + j]!);
    let expSum = 0;
    for (let j = 0; j < K; j++) expSum += Math.exp(o[base + OUT_OUTCOME + j]! - max);
    const logSum = max + Math.log(expSum);
    sums.outcome += w * (logSum - o[base + OUT_OUTCOME + c]!);
    for (let j = 0; j < K; j++) {
      const p = Math.exp(o[base + OUT_OUTCOME + j]! - logSum);
      d[base + OUT_OUTCOME + j] = w * (p - (j === c ? 1 : 0)) * inv;
    }
  }
}

/** The batch's loss, and its parts each averaged over the batch's `total` rows, from `landerModelLossRows`' sums. */
export function lossOfSums(sums: LossParts, total: number): { loss: Tensor; parts: LossParts } {
  const inv = 1 / total;
  const parts: LossParts = {
    state: sums.state * inv,
    reward: sums.reward * inv,
    contacts: sums.contacts * inv,
    outcome: sums.outcome * inv,
  };
  const loss = resultTensor([]);
  loss.data[0] = parts.state + parts.reward + parts.contacts + parts.outcome;
  return { loss, parts };
}
