/**
 * Ensembles batched in one tensor: E members' weights live in one [E, in, out] tensor and every member is
 * fed its own batch ([E, B, in] -> [E, B, out]), one matmul per member inside a single fused op, not a loop
 * over modules. `ProbabilisticEnsemble` adds the PETS head (Chua et al. 2018, "Deep Reinforcement Learning
 * in a Handful of Trials using Probabilistic Dynamics Models", Appendix A.1): each member outputs a mean and
 * a log-variance kept between learnable soft bounds.
 */
import {
  gradBuffer,
  kernels,
  needsGrad,
  type Rng,
  recordGraph,
  resultTensor,
  shapeString,
  type Tensor,
} from '../tensor/index.ts';
import {
  type Activation,
  activationBackward,
  backwardScratch,
  biasActivationForward,
  checkActivation,
  needsPreActivation,
} from './activation.ts';
import { checkInt, checkNumber, checkOneOf } from './errors.ts';
import { initWeights, WEIGHT_INITS, type WeightInit } from './init.ts';
import { Module, parameter } from './module.ts';

/**
 * act(x_e·W_e + b_e) for every member e. x is [E, B, in] (each member its own batch) or [B, in] (one batch
 * shared by all members); W is [E, in, out]; b is [E, out] or null. The result is [E, B, out].
 */
export function ensembleLinear(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  activation: Activation = 'identity',
): Tensor {
  x.assertAlive('ensembleLinear');
  weight.assertAlive('ensembleLinear');
  if (weight.ndim !== 3) {
    throw new Error(`ensembleLinear: weight must be [E, in, out], got ${shapeString(weight.shape)}`);
  }
  const [members, inF, outF] = weight.shape as [number, number, number];
  const shared = x.ndim === 2;
  if (!(x.ndim === 2 || x.ndim === 3) || x.shape[x.ndim - 1] !== inF || (!shared && x.shape[0] !== members)) {
    throw new Error(
      `ensembleLinear: input of shape ${shapeString(x.shape)} does not fit weight ${shapeString(weight.shape)}; ` +
        `expected [${members}, B, ${inF}] or [B, ${inF}]`,
    );
  }
  if (bias && (bias.ndim !== 2 || bias.shape[0] !== members || bias.shape[1] !== outF)) {
    throw new Error(
      `ensembleLinear: bias of shape ${shapeString(bias.shape)} does not fit; expected [${members}, ${outF}]`,
    );
  }
  const batch = x.shape[x.ndim - 2]!;
  const xStride = shared ? 0 : batch * inF;
  const wStride = inF * outF;
  const oStride = batch * outF;
  const out = resultTensor([members, batch, outF]);
  const pre = needsPreActivation(activation) ? resultTensor(out.shape) : null;
  // One batched call per product, so a kernel set can run all members in one pass.
  const gemmBatched = kernels().gemmBatched;
  gemmBatched(
    members,
    false,
    false,
    batch,
    outF,
    inF,
    x.data,
    0,
    xStride,
    weight.data,
    0,
    wStride,
    out.data,
    0,
    oStride,
    false,
  );
  for (let e = 0; e < members; e++) {
    biasActivationForward(
      activation,
      out.data,
      e * oStride,
      batch,
      outF,
      bias ? bias.data : null,
      e * outF,
      pre ? pre.data : null,
    );
  }
  const inputs = bias ? [x, weight, bias] : [x, weight];
  if (needsGrad(inputs)) {
    recordGraph(
      out,
      inputs,
      (g) => {
        const n = out.size;
        const gz = activationBackward(activation, g, out.data, pre ? pre.data : null, backwardScratch(n), n);
        const gx = gradBuffer(x);
        const gw = gradBuffer(weight);
        const gb = bias ? gradBuffer(bias) : null;
        // dX_e = dZ_e·W_eᵀ (a shared input sums every member's share: stride 0), dW_e = X_eᵀ·dZ_e.
        if (gx)
          gemmBatched(
            members,
            false,
            true,
            batch,
            inF,
            outF,
            gz,
            0,
            oStride,
            weight.data,
            0,
            wStride,
            gx,
            0,
            xStride,
            true,
          );
        if (gw)
          gemmBatched(
            members,
            true,
            false,
            inF,
            outF,
            batch,
            x.data,
            0,
            xStride,
            gz,
            0,
            oStride,
            gw,
            0,
            wStride,
            true,
          );
        if (gb) {
          const columnSum = kernels().columnSum;
          for (let e = 0; e < members; e++) {
            const memberGz = gz.subarray(e * oStride, (e + 1) * oStride);
            columnSum(batch, outF, memberGz, gb.subarray(e * outF, (e + 1) * outF));
          }
        }
      },
      'ensembleLinear',
      pre ? [pre] : null,
    );
  }
  return out;
}

export interface EnsembleLinearOptions {
  /** Seeded generator for the initial weights (required); each member gets its own draw. */
  rng: Rng;
  /** Default true. */
  bias?: boolean;
  /** Fused after the bias. Default 'identity'. */
  activation?: Activation;
  /** See `LinearOptions.init`. Default 'uniform'. */
  init?: WeightInit;
  /** For 'orthogonal'/'xavier'. Default 1. */
  gain?: number;
}

export class EnsembleLinear extends Module {
  readonly members: number;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly activation: Activation;
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(members: number, inFeatures: number, outFeatures: number, options: EnsembleLinearOptions) {
    super();
    checkInt('EnsembleLinear: members', members);
    checkInt('EnsembleLinear: inFeatures', inFeatures);
    checkInt('EnsembleLinear: outFeatures', outFeatures);
    if (!options?.rng) throw new Error('EnsembleLinear: options.rng (a seeded Rng) is required');
    const init = options.init ?? 'uniform';
    const gain = options.gain ?? 1;
    const activation = options.activation ?? 'identity';
    checkOneOf('EnsembleLinear: init', init, WEIGHT_INITS);
    checkActivation('EnsembleLinear: activation', activation);
    checkNumber('EnsembleLinear: gain', gain);
    this.members = members;
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.activation = activation;
    const w = new Float32Array(members * inFeatures * outFeatures);
    const b = (options.bias ?? true) ? new Float32Array(members * outFeatures) : null;
    initWeights(w, b, members, inFeatures, outFeatures, init, gain, options.rng);
    this.weight = this.registerParameter('weight', parameter(w, [members, inFeatures, outFeatures]));
    this.bias = b ? this.registerParameter('bias', parameter(b, [members, outFeatures])) : null;
  }

  /** [E, B, in] or shared [B, in] -> [E, B, out]. */
  forward(x: Tensor): Tensor {
    return ensembleLinear(x, this.weight, this.bias, this.activation);
  }
}

export interface EnsembleMLPOptions {
  /** Seeded generator for the initial weights (required). */
  rng: Rng;
  /** After every hidden layer. Default 'silu' (Swish, as PETS and MBPO use). */
  activation?: Activation;
  /** After the last layer. Default 'identity'. */
  outputActivation?: Activation;
  /** See `LinearOptions.init`. Default 'uniform'. */
  init?: WeightInit;
}

/** E independent MLPs with sizes [in, hidden..., out], evaluated together. */
export class EnsembleMLP extends Module {
  readonly members: number;
  readonly sizes: readonly number[];
  readonly layers: EnsembleLinear[] = [];

  constructor(members: number, sizes: readonly number[], options: EnsembleMLPOptions) {
    super();
    checkInt('EnsembleMLP: members', members);
    if (!Array.isArray(sizes) || sizes.length < 2) {
      throw new Error(`EnsembleMLP: sizes must list at least [in, out], got ${JSON.stringify(sizes)}`);
    }
    if (!options?.rng) throw new Error('EnsembleMLP: options.rng (a seeded Rng) is required');
    const activation = options.activation ?? 'silu';
    const outputActivation = options.outputActivation ?? 'identity';
    checkActivation('EnsembleMLP: activation', activation);
    checkActivation('EnsembleMLP: outputActivation', outputActivation);
    this.members = members;
    this.sizes = [...sizes];
    for (let i = 0; i + 1 < sizes.length; i++) {
      checkInt(`EnsembleMLP: sizes[${i}]`, sizes[i]!);
      const last = i + 2 === sizes.length;
      const layer = new EnsembleLinear(members, sizes[i]!, sizes[i + 1]!, {
        rng: options.rng,
        activation: last ? outputActivation : activation,
        init: options.init ?? 'uniform',
      });
      this.layers.push(this.registerModule(String(i), layer));
    }
  }

  /** [E, B, in] or shared [B, in] -> [E, B, out]. */
  forward(x: Tensor): Tensor {
    let h = x;
    for (const layer of this.layers) h = layer.forward(h);
    return h;
  }
}

/**
 * PETS' soft bounds on a raw log-variance (Chua et al. 2018, Appendix A.1):
 *   logvar = maxLogVar - softplus(maxLogVar - raw)
 *   logvar = minLogVar + softplus(logvar - minLogVar)
 * Smooth, so gradients reach the raw output and the bounds themselves everywhere. The bounds are [out] and
 * broadcast over the leading axes of `raw`.
 */
export function boundLogVar(raw: Tensor, maxLogVar: Tensor, minLogVar: Tensor): Tensor {
  const upper = maxLogVar.sub(maxLogVar.sub(raw).softplus());
  return minLogVar.add(upper.sub(minLogVar).softplus());
}

export interface ProbabilisticEnsembleOptions extends EnsembleMLPOptions {
  /** Initial value of the learnable upper bound on the log-variance. Default 0.5 (PETS). */
  maxLogVar?: number;
  /** Initial value of the learnable lower bound on the log-variance. Default -10 (PETS). */
  minLogVar?: number;
}

export interface GaussianOutput {
  /** [E, B, out] */
  mean: Tensor;
  /** [E, B, out], softly bounded between the learnable bounds. */
  logVar: Tensor;
}

/**
 * E Gaussian models in one: an ensemble MLP with sizes [in, hidden..., out] whose last layer emits 2·out
 * values per row, split into a mean and a raw log-variance, bounded by `boundLogVar`.
 */
export class ProbabilisticEnsemble extends Module {
  readonly members: number;
  readonly outFeatures: number;
  readonly body: EnsembleMLP;
  readonly maxLogVar: Tensor;
  readonly minLogVar: Tensor;

  constructor(members: number, sizes: readonly number[], options: ProbabilisticEnsembleOptions) {
    super();
    if (!Array.isArray(sizes) || sizes.length < 2) {
      throw new Error(
        `ProbabilisticEnsemble: sizes must list at least [in, out], got ${JSON.stringify(sizes)}`,
      );
    }
    const outF = sizes[sizes.length - 1]!;
    checkInt('ProbabilisticEnsemble: output size', outF);
    const maxLv = options.maxLogVar ?? 0.5;
    const minLv = options.minLogVar ?? -10;
    checkNumber('ProbabilisticEnsemble: maxLogVar', maxLv);
    checkNumber('ProbabilisticEnsemble: minLogVar', minLv, Number.NEGATIVE_INFINITY, maxLv, { max: true });
    this.members = members;
    this.outFeatures = outF;
    this.body = this.registerModule(
      'body',
      new EnsembleMLP(members, [...sizes.slice(0, -1), 2 * outF], {
        ...options,
        outputActivation: 'identity',
      }),
    );
    this.maxLogVar = this.registerParameter(
      'max_logvar',
      parameter(new Float32Array(outF).fill(maxLv), [outF]),
    );
    this.minLogVar = this.registerParameter(
      'min_logvar',
      parameter(new Float32Array(outF).fill(minLv), [outF]),
    );
  }

  /** [E, B, in] or shared [B, in] -> a mean and a bounded log-variance, each [E, B, out]. */
  forward(x: Tensor): GaussianOutput {
    const raw = this.body.forward(x);
    const mean = raw.slice(-1, 0, this.outFeatures);
    const logVar = boundLogVar(raw.slice(-1, this.outFeatures), this.maxLogVar, this.minLogVar);
    return { mean, logVar };
  }

  /**
   * The PETS regulariser that keeps the bounds tight: coefficient · (Σ maxLogVar - Σ minLogVar), to be added
   * to the training loss. Default coefficient 0.01.
   */
  boundsPenalty(coefficient = 0.01): Tensor {
    return this.maxLogVar.sum().sub(this.minLogVar.sum()).mul(coefficient);
  }
}
