/**
 * Ensembles batched in one tensor: E members' weights live in one [E, in, out] tensor and every member is
 * fed its own batch ([E, B, in] -> [E, B, out]), one matmul per member inside a single fused op, not a loop
 * over modules. `ProbabilisticEnsemble` adds the PETS head (Chua et al. 2018, "Deep Reinforcement Learning
 * in a Handful of Trials using Probabilistic Dynamics Models", Appendix A.1): each member outputs a mean and
 * a log-variance kept between learnable soft bounds.
 */
import {
  gradBuffer,
  gradIsFresh,
  kernels,
  needsGrad,
  type PackedWeightsKey,
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
  const { gemmBatched, linearBatched: fused } = kernels();
  const b = bias ? bias.data : null;
  if (fused) {
    // A kernel set with a fused batched layer (WebAssembly) runs every member's layer in one call each way.
    fused.forward(
      activation,
      members,
      batch,
      inF,
      outF,
      x.data,
      xStride,
      weight.data,
      b,
      out.data,
      pre?.data ?? null,
    );
  } else {
    // One batched call per product, then each member's bias and activation.
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
        b,
        e * outF,
        pre ? pre.data : null,
      );
    }
  }
  const inputs = bias ? [x, weight, bias] : [x, weight];
  if (needsGrad(inputs)) {
    recordGraph(
      out,
      inputs,
      (g) => {
        const gxZero = gradIsFresh(x);
        const gx = gradBuffer(x);
        const gw = gradBuffer(weight);
        const gb = bias ? gradBuffer(bias) : null;
        const p = pre ? pre.data : null;
        if (fused) {
          fused.backward(
            activation,
            members,
            batch,
            inF,
            outF,
            g,
            out.data,
            p,
            x.data,
            xStride,
            weight.data,
            gx,
            gw,
            gb,
            gxZero,
          );
          return;
        }
        const n = out.size;
        const gz = activationBackward(activation, g, out.data, p, backwardScratch(n), n);
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

/** One layer's parameters as arrays, row-major. */
export interface EnsembleLayerWeights {
  /** [E, in, out]. */
  weight: Float32Array;
  /** [E, out], or null for a layer without a bias. */
  bias: Float32Array | null;
}

export interface EnsembleLinearOptions {
  /** Seeded generator for the initial weights (required unless `weights` is given); each member gets its own draw. */
  rng?: Rng;
  /**
   * Arrays the layer adopts as its parameters, uncopied (views train their owner), in place of new weights;
   * `bias`, `init` and `gain` then do not apply.
   */
  weights?: EnsembleLayerWeights;
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
    if (!options?.rng && !options?.weights) {
      throw new Error(
        'EnsembleLinear: options.rng (a seeded Rng) is required unless options.weights is given',
      );
    }
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
    let w: Float32Array;
    let b: Float32Array | null;
    if (options.weights) {
      ({ weight: w, bias: b } = options.weights);
      const wLength = members * inFeatures * outFeatures;
      const bLength = members * outFeatures;
      const isArray = (a: unknown, length: number): boolean =>
        a instanceof Float32Array && a.length === length;
      if (!isArray(w, wLength) || !(b === null || isArray(b, bLength))) {
        const described = (a: unknown): string =>
          a instanceof Float32Array ? `${a.length} values` : a === null ? 'null' : `a ${typeof a}`;
        throw new Error(
          `EnsembleLinear: options.weights has weight ${described(w)} and bias ${described(b)}; expected ` +
            `Float32Arrays of ${wLength} and ${bLength} values (bias may be null) for ${members} x [${inFeatures}, ${outFeatures}]`,
        );
      }
      if (options.bias === false && b !== null) {
        throw new Error('EnsembleLinear: options.bias is false but options.weights gives biases');
      }
    } else {
      w = new Float32Array(members * inFeatures * outFeatures);
      b = (options.bias ?? true) ? new Float32Array(members * outFeatures) : null;
      initWeights(w, b, members, inFeatures, outFeatures, init, gain, options.rng!);
    }
    this.weight = this.registerParameter('weight', parameter(w, [members, inFeatures, outFeatures]));
    this.bias = b ? this.registerParameter('bias', parameter(b, [members, outFeatures])) : null;
  }

  /** [E, B, in] or shared [B, in] -> [E, B, out]. */
  forward(x: Tensor): Tensor {
    return ensembleLinear(x, this.weight, this.bias, this.activation);
  }
}

export interface EnsembleMLPOptions {
  /** Seeded generator for the initial weights (required unless `weights` is given). */
  rng?: Rng;
  /** Each layer's arrays, adopted uncopied as its parameters (EnsembleLinearOptions.weights). */
  weights?: readonly EnsembleLayerWeights[];
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
    if (!options?.rng && !options?.weights) {
      throw new Error('EnsembleMLP: options.rng (a seeded Rng) is required unless options.weights is given');
    }
    const layers = sizes.length - 1;
    if (options.weights && (options.weights.length !== layers || options.weights.some((l) => !l))) {
      throw new Error(
        `EnsembleMLP: options.weights must give each of the ${layers} layers of sizes ${JSON.stringify(sizes)}; ` +
          `it has ${options.weights.filter((l) => l).length} of ${options.weights.length}`,
      );
    }
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
        weights: options.weights?.[i],
      });
      this.layers.push(this.registerModule(String(i), layer));
    }
  }

  /**
   * Members [first, first + count) as an EnsembleMLP of their own whose weights are views of this one's:
   * training the view trains those members, with the numbers this whole one computes for them.
   */
  membersView(first: number, count: number): EnsembleMLP {
    checkInt('EnsembleMLP.membersView: count', count);
    if (!Number.isInteger(first) || first < 0 || first + count > this.members) {
      throw new Error(
        `EnsembleMLP.membersView: members [${first}, ${first + count}) are not within the ${this.members} members`,
      );
    }
    const weights = this.layers.map((l) => {
      const w = l.inFeatures * l.outFeatures;
      const b = l.outFeatures;
      return {
        weight: l.weight.data.subarray(first * w, (first + count) * w),
        bias: l.bias ? l.bias.data.subarray(first * b, (first + count) * b) : null,
      };
    });
    return new EnsembleMLP(count, this.sizes, {
      weights,
      activation: this.layers[0]!.activation,
      outputActivation: this.layers[this.layers.length - 1]!.activation,
    });
  }

  /**
   * [E, B, in] or shared [B, in] -> [E, B, out]. `packed` names the weights' version for an inference call, so
   * the kernel may keep them packed between calls (PackedWeightsKey); `memberRows[e]`, for an inference call,
   * says how many of member e's first rows are wanted (the kernel may leave the others 0). Both are ignored
   * when gradients are recorded.
   */
  forward(x: Tensor, packed: PackedWeightsKey | null = null, memberRows: Int32Array | null = null): Tensor {
    const stacked = this.forwardStack(x, packed, memberRows);
    if (stacked) return stacked;
    let h = x;
    for (const layer of this.layers) h = layer.forward(h);
    return h;
  }

  /**
   * Every layer in one kernel call each way where the kernel set has one (WebAssembly), as one graph node:
   * without gradients the activations between layers never leave the kernel; with them, only what the
   * backward pass needs does. Null where it does not apply (the layers then run one by one).
   */
  private forwardStack(
    x: Tensor,
    packed: PackedWeightsKey | null,
    memberRows: Int32Array | null,
  ): Tensor | null {
    const fused = kernels().linearBatched;
    if (!fused?.forwardStack || !fused.backwardStack) return null;
    const first = this.layers[0]!;
    // Shapes the layer-by-layer path would refuse go there, for its error messages.
    const shared = x.ndim === 2;
    const fits = (shared || x.ndim === 3) && x.shape[x.ndim - 1] === first.inFeatures;
    if (!fits || (!shared && x.shape[0] !== this.members)) return null;
    x.assertAlive('EnsembleMLP');
    const members = this.members;
    const rows = x.shape[x.ndim - 2]!;
    const xStride = shared ? 0 : rows * first.inFeatures;
    const layers = this.layers.map((l) => ({
      inF: l.inFeatures,
      outF: l.outFeatures,
      w: l.weight.data,
      bias: l.bias ? l.bias.data : null,
      act: l.activation,
    }));
    const params = this.parameters();
    const inputs = [x, ...params];
    const grad = needsGrad(inputs);
    const count = this.layers.length;
    const out = resultTensor([members, rows, this.layers[count - 1]!.outFeatures]);
    const hidden = grad
      ? this.layers.slice(0, -1).map((l) => resultTensor([members, rows, l.outFeatures]))
      : [];
    const pre = grad
      ? this.layers.map((l) =>
          needsPreActivation(l.activation) ? resultTensor([members, rows, l.outFeatures]) : null,
        )
      : [];
    const saved = grad ? { hidden: hidden.map((t) => t.data), pre: pre.map((t) => t?.data ?? null) } : null;
    if (!fused.forwardStack(members, rows, x.data, xStride, layers, out.data, saved, packed, memberRows))
      return null;
    if (grad) {
      const keptPre = pre.filter((t): t is Tensor => t !== null);
      recordGraph(
        out,
        inputs,
        (g) => {
          // The buffers as they are now (saved tensors are checked alive before any backward runs).
          const now = this.layers.map((l) => ({
            inF: l.inFeatures,
            outF: l.outFeatures,
            w: l.weight.data,
            bias: l.bias ? l.bias.data : null,
            act: l.activation,
          }));
          const kept = { hidden: hidden.map((t) => t.data), pre: pre.map((t) => t?.data ?? null) };
          const gxZero = gradIsFresh(x);
          const gx = gradBuffer(x);
          const gw = this.layers.map((l) => gradBuffer(l.weight));
          const gb = this.layers.map((l) => (l.bias ? gradBuffer(l.bias) : null));
          fused.backwardStack!(members, rows, x.data, xStride, now, out.data, kept, g, gx, gxZero, gw, gb);
        },
        'EnsembleMLP',
        [...hidden, ...keptPre],
      );
    }
    return out;
  }
}

/**
 * PETS' soft bounds on a raw log-variance (Chua et al. 2018, Appendix A.1):
 *   logvar = maxLogVar - softplus(maxLogVar - raw)
 *   logvar = minLogVar + softplus(logvar - minLogVar)
 * Smooth, so gradients reach the raw output and the bounds themselves everywhere. The bounds are [out] and
 * broadcast over the leading axes of `raw`. One fused op (kernels().boundLogVar) with its own backward.
 */
export function boundLogVar(raw: Tensor, maxLogVar: Tensor, minLogVar: Tensor): Tensor {
  const cols = raw.shape[raw.ndim - 1];
  const fits = (b: Tensor): boolean => b.ndim === 1 && b.shape[0] === cols;
  if (raw.ndim === 0 || !fits(maxLogVar) || !fits(minLogVar)) {
    // Other broadcasts: the same formula in elementwise ops.
    const upper = maxLogVar.sub(maxLogVar.sub(raw).softplus());
    return minLogVar.add(upper.sub(minLogVar).softplus());
  }
  return boundLogVarColumns(raw, cols!, 0, cols!, maxLogVar, minLogVar);
}

/**
 * `boundLogVar` of columns [offset, offset + cols) of raw's last axis (of length `width`), without copying
 * them out first: the result is raw's shape with a last axis of `cols`.
 */
function boundLogVarColumns(
  raw: Tensor,
  width: number,
  offset: number,
  cols: number,
  maxLogVar: Tensor,
  minLogVar: Tensor,
): Tensor {
  for (const t of [raw, maxLogVar, minLogVar]) t.assertAlive('boundLogVar');
  const rows = width === 0 ? 0 : raw.size / width;
  const out = resultTensor([...raw.shape.slice(0, -1), cols]);
  const inputs = [raw, maxLogVar, minLogVar];
  const grad = needsGrad(inputs);
  const su = grad ? resultTensor(out.shape) : null;
  const sv = grad ? resultTensor(out.shape) : null;
  const bound = kernels().boundLogVar;
  bound(
    rows,
    cols,
    raw.data,
    offset,
    width,
    maxLogVar.data,
    minLogVar.data,
    out.data,
    su?.data ?? null,
    sv?.data ?? null,
  );
  if (su && sv) {
    recordGraph(
      out,
      inputs,
      (g) => {
        const s1 = su.data;
        const s2 = sv.data;
        const gRaw = gradBuffer(raw);
        const gMax = gradBuffer(maxLogVar);
        const gMin = gradBuffer(minLogVar);
        // d/d raw = σ(v)σ(u); d/d max = σ(v)(1 - σ(u)); d/d min = 1 - σ(v) (see kernels/bound-logvar.ts).
        for (let r = 0; r < rows; r++) {
          const base = offset + r * width;
          for (let j = 0; j < cols; j++) {
            const i = r * cols + j;
            const gv = g[i]! * s2[i]!;
            if (gRaw) gRaw[base + j]! += gv * s1[i]!;
            if (gMax) gMax[j]! += gv * (1 - s1[i]!);
            if (gMin) gMin[j]! += g[i]! - gv;
          }
        }
      },
      'boundLogVar',
      [su, sv],
    );
  }
  return out;
}

export interface ProbabilisticEnsembleOptions extends Omit<EnsembleMLPOptions, 'rng' | 'weights'> {
  /** Seeded generator for the initial weights (required). */
  rng: Rng;
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

  /** [E, B, in] or shared [B, in] -> a mean and a bounded log-variance, each [E, B, out] (`packed`: EnsembleMLP's). */
  forward(
    x: Tensor,
    packed: PackedWeightsKey | null = null,
    memberRows: Int32Array | null = null,
  ): GaussianOutput {
    return this.head(this.body.forward(x, packed, memberRows));
  }

  /**
   * The Gaussian head on the body's raw output [E, B, 2·out]: the mean and the bounded log-variance. Apart
   * from `forward` so that a fit split across threads (members' bodies elsewhere) applies it to each member's
   * output as it arrives.
   */
  head(raw: Tensor): GaussianOutput {
    const out = this.outFeatures;
    const mean = raw.slice(-1, 0, out);
    // The log-variance is read straight from the second half of each row (no sliced copy).
    const logVar = boundLogVarColumns(raw, 2 * out, out, out, this.maxLogVar, this.minLogVar);
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
