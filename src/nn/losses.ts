/**
 * Losses. `mse`, `huber` and `gaussianNll` are fused: one pass computes every element's loss and its
 * derivative, the reduction follows, and the backward pass is one scaled copy of the stored derivative.
 * `crossEntropy` is log-softmax plus gather, whose pieces already have exact gradients.
 */
import {
  gradBuffer,
  kernels,
  needsGrad,
  recordGraph,
  resultTensor,
  shapeString,
  Tensor,
} from '../tensor/index.ts';
import { checkNumber, checkOneOf } from './errors.ts';

/** 'mean' (default) averages over every element, 'sum' adds them, 'none' keeps one value per element. */
export type Reduction = 'mean' | 'sum' | 'none';

const REDUCTIONS: readonly Reduction[] = ['mean', 'sum', 'none'];

export interface LossOptions {
  /** Default 'mean'. */
  reduction?: Reduction;
}

function checkPair(op: string, pred: Tensor, target: Tensor): void {
  pred.assertAlive(op);
  target.assertAlive(op);
  const same = pred.ndim === target.ndim && pred.shape.every((d, i) => d === target.shape[i]);
  if (!same) {
    throw new Error(
      `${op}: prediction ${shapeString(pred.shape)} and target ${shapeString(target.shape)} must have the same shape`,
    );
  }
}

/**
 * Reduces per-element `values` (with derivative `derivs[k]` with respect to input k) and records the
 * backward pass: d loss / d input_k[i] = g · derivs[k][i] (times 1/n for 'mean').
 */
function reduceLoss(
  op: string,
  values: Tensor,
  inputs: Tensor[],
  derivs: Tensor[],
  reduction: Reduction,
): Tensor {
  const n = values.size;
  let out: Tensor;
  if (reduction === 'none') {
    out = values;
  } else {
    out = resultTensor([]);
    let total = 0;
    for (let i = 0; i < n; i++) total += values.data[i]!;
    out.data[0] = reduction === 'mean' ? total / n : total;
  }
  if (needsGrad(inputs)) {
    const scale = reduction === 'mean' ? 1 / n : 1;
    recordGraph(
      out,
      inputs,
      (g) => {
        for (let k = 0; k < inputs.length; k++) {
          const gk = gradBuffer(inputs[k]!);
          if (!gk) continue;
          const d = derivs[k]!.data;
          if (reduction === 'none') for (let i = 0; i < n; i++) gk[i]! += g[i]! * d[i]!;
          else {
            const s = g[0]! * scale;
            for (let i = 0; i < n; i++) gk[i]! += s * d[i]!;
          }
        }
      },
      op,
      derivs,
    );
  }
  return out;
}

/**
 * Mean squared error, (pred - target)². Fully fused: the derivative 2(pred - target) is recomputed in the
 * backward pass rather than stored, so a training step spends one pass forward and one back.
 */
export function mse(pred: Tensor, target: Tensor, options: LossOptions = {}): Tensor {
  const reduction = options.reduction ?? 'mean';
  checkOneOf('mse: reduction', reduction, REDUCTIONS);
  checkPair('mse', pred, target);
  const n = pred.size;
  const p = pred.data;
  const t = target.data;
  let out: Tensor;
  if (reduction === 'none') {
    out = resultTensor(pred.shape);
    for (let i = 0; i < n; i++) {
      const d = p[i]! - t[i]!;
      out.data[i] = d * d;
    }
  } else {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const d = p[i]! - t[i]!;
      total += d * d;
    }
    out = resultTensor([]);
    out.data[0] = reduction === 'mean' ? total / n : total;
  }
  if (needsGrad([pred, target])) {
    const scale = reduction === 'mean' ? 2 / n : 2;
    recordGraph(
      out,
      [pred, target],
      (g) => {
        const gp = gradBuffer(pred);
        const gt = gradBuffer(target);
        const pd = pred.data;
        const td = target.data;
        for (let i = 0; i < n; i++) {
          const c = (reduction === 'none' ? g[i]! * 2 : g[0]! * scale) * (pd[i]! - td[i]!);
          if (gp) gp[i]! += c;
          if (gt) gt[i]! -= c;
        }
      },
      'mse',
    );
  }
  return out;
}

export interface HuberOptions extends LossOptions {
  /** Where the loss turns from quadratic to linear. Default 1. Must be > 0. */
  delta?: number;
}

/** Huber loss (Huber 1964): ½d² for |d| <= δ, else δ(|d| - ½δ), with d = pred - target (as PyTorch). */
export function huber(pred: Tensor, target: Tensor, options: HuberOptions = {}): Tensor {
  const reduction = options.reduction ?? 'mean';
  const delta = options.delta ?? 1;
  checkOneOf('huber: reduction', reduction, REDUCTIONS);
  checkNumber('huber: delta', delta, 0, Number.POSITIVE_INFINITY, { min: true });
  checkPair('huber', pred, target);
  const values = resultTensor(pred.shape);
  const dp = resultTensor(pred.shape);
  const dt = resultTensor(pred.shape);
  const p = pred.data;
  const t = target.data;
  for (let i = 0; i < p.length; i++) {
    const d = p[i]! - t[i]!;
    const a = Math.abs(d);
    if (a <= delta) {
      values.data[i] = 0.5 * d * d;
      dp.data[i] = d;
    } else {
      values.data[i] = delta * (a - 0.5 * delta);
      dp.data[i] = d > 0 ? delta : -delta;
    }
    dt.data[i] = -dp.data[i]!;
  }
  return reduceLoss('huber', values, [pred, target], [dp, dt], reduction);
}

export interface GaussianNllOptions extends LossOptions {
  /** Add the constant ½·log(2π) so the value is the true negative log-likelihood. Default false. */
  full?: boolean;
}

/**
 * Negative log-likelihood of `target` under N(mean, exp(logVar)), per element:
 *   ½ (target - mean)² · exp(-logVar) + ½ logVar   (+ ½ log 2π when `full`)
 * This is the PETS model loss (Chua et al. 2018, Eq. 3 and Appendix A.1) without the bounds penalty.
 */
export function gaussianNll(
  mean: Tensor,
  logVar: Tensor,
  target: Tensor,
  options: GaussianNllOptions = {},
): Tensor {
  const reduction = options.reduction ?? 'mean';
  checkOneOf('gaussianNll: reduction', reduction, REDUCTIONS);
  checkPair('gaussianNll', mean, target);
  checkPair('gaussianNll', logVar, target);
  const constant = options.full ? 0.5 * Math.log(2 * Math.PI) : 0;
  const n = mean.size;
  const inputs = [mean, logVar, target];
  const grad = needsGrad(inputs);
  // Kept for the backward pass: d/d mean = (mean - target)·e^-logVar (d/d target is its negative) and
  // d/d logVar = ½(1 - (mean - target)²·e^-logVar).
  const dMean = grad ? resultTensor(mean.shape) : null;
  const dLogVar = grad ? resultTensor(mean.shape) : null;
  const values = resultTensor(mean.shape);
  kernels().gaussianNll(
    n,
    mean.data,
    logVar.data,
    target.data,
    values.data,
    dMean?.data ?? null,
    dLogVar?.data ?? null,
  );
  let total = 0;
  if (reduction === 'none') {
    if (constant !== 0) for (let i = 0; i < n; i++) values.data[i]! += constant;
  } else {
    const v = values.data;
    for (let i = 0; i < n; i++) total += v[i]!;
    total += n * constant;
  }
  let out: Tensor;
  if (reduction === 'none') out = values;
  else {
    out = resultTensor([]);
    out.data[0] = reduction === 'mean' ? total / n : total;
  }
  if (dMean && dLogVar) {
    const scale = reduction === 'mean' ? 1 / n : 1;
    recordGraph(
      out,
      inputs,
      (g) => {
        const gm = gradBuffer(mean);
        const gl = gradBuffer(logVar);
        const gt = gradBuffer(target);
        const dmd = dMean.data;
        const dld = dLogVar.data;
        const each = reduction === 'none';
        const s = each ? 0 : g[0]! * scale;
        for (let i = 0; i < n; i++) {
          const gi = each ? g[i]! : s;
          const a = gi * dmd[i]!;
          if (gm) gm[i]! += a;
          if (gt) gt[i]! -= a;
          if (gl) gl[i]! += gi * dld[i]!;
        }
      },
      'gaussianNll',
      [dMean, dLogVar],
    );
  }
  return out;
}

/**
 * Cross-entropy from unnormalised `logits` [N, C] and integer class `targets` (N of them, in [0, C)):
 * -log softmax(logits)[i, targets[i]].
 */
export function crossEntropy(
  logits: Tensor,
  targets: ArrayLike<number> | Tensor,
  options: LossOptions = {},
): Tensor {
  const reduction = options.reduction ?? 'mean';
  checkOneOf('crossEntropy: reduction', reduction, REDUCTIONS);
  if (logits.ndim !== 2) {
    throw new Error(`crossEntropy: logits must be [N, C], got ${shapeString(logits.shape)}`);
  }
  const n = logits.shape[0]!;
  const count = targets instanceof Tensor ? targets.size : targets.length;
  if (count !== n) {
    throw new Error(`crossEntropy: ${count} targets for ${n} rows of logits ${shapeString(logits.shape)}`);
  }
  const picked = logits.logSoftmax(-1).gather(targets, -1).neg();
  if (reduction === 'none') return picked;
  return reduction === 'mean' ? picked.mean() : picked.sum();
}
