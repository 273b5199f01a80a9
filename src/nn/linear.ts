/**
 * `Linear`: y = act(x·W + b) with W stored [in, out]. The op is fused: one matmul, then the bias and the
 * activation in one pass; its backward turns the output gradient into the pre-activation gradient once and
 * feeds it to two transposed matmuls (dX = dZ·Wᵀ, dW = Xᵀ·dZ) and a column sum (db), with no intermediate
 * tensors and no transposed copies.
 */
import {
  gradBuffer,
  gradIsFresh,
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
 * act(x·W + b) for x of shape [..., in], W [in, out], b [out] (or null): the result is [..., out].
 * Differentiable in x, W and b.
 */
export function linear(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  activation: Activation = 'identity',
): Tensor {
  x.assertAlive('linear');
  weight.assertAlive('linear');
  const inF = weight.shape[0]!;
  const outF = weight.shape[1]!;
  if (weight.ndim !== 2 || x.ndim < 1 || x.shape[x.ndim - 1] !== inF) {
    throw new Error(
      `linear: input of shape ${shapeString(x.shape)} does not fit weight ${shapeString(weight.shape)}; ` +
        `expected [..., ${inF}]`,
    );
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outF)) {
    throw new Error(`linear: bias of shape ${shapeString(bias.shape)} does not fit; expected [${outF}]`);
  }
  const rows = inF === 0 ? 0 : x.size / inF;
  const out = resultTensor([...x.shape.slice(0, -1), outF]);
  const { gemm, linear: fused } = kernels();
  const pre = needsPreActivation(activation) ? resultTensor(out.shape) : null;
  // A kernel set with a fused linear kernel (WebAssembly) runs the whole layer in one call each way.
  if (fused) {
    const b = bias ? bias.data : null;
    fused.forward(activation, rows, inF, outF, x.data, weight.data, b, out.data, pre ? pre.data : null);
  } else {
    gemm(false, false, rows, outF, inF, x.data, 0, weight.data, 0, out.data, 0, false);
    biasActivationForward(
      activation,
      out.data,
      0,
      rows,
      outF,
      bias ? bias.data : null,
      0,
      pre ? pre.data : null,
    );
  }
  const inputs = bias ? [x, weight, bias] : [x, weight];
  if (needsGrad(inputs)) {
    recordGraph(
      out,
      inputs,
      (g) => {
        if (fused) {
          const gxZero = gradIsFresh(x);
          const [gx, gw, gb] = [gradBuffer(x), gradBuffer(weight), bias ? gradBuffer(bias) : null];
          const p = pre ? pre.data : null;
          fused.backward(
            activation,
            rows,
            inF,
            outF,
            g,
            out.data,
            p,
            x.data,
            weight.data,
            gx,
            gw,
            gb,
            gxZero,
          );
          return;
        }
        const n = rows * outF;
        const gz = activationBackward(activation, g, out.data, pre ? pre.data : null, backwardScratch(n), n);
        const gx = gradBuffer(x);
        const gw = gradBuffer(weight);
        const gb = bias ? gradBuffer(bias) : null;
        if (gx) gemm(false, true, rows, inF, outF, gz, 0, weight.data, 0, gx, 0, true);
        if (gw) gemm(true, false, inF, outF, rows, x.data, 0, gz, 0, gw, 0, true);
        if (gb) kernels().columnSum(rows, outF, gz, gb);
      },
      'linear',
      pre ? [pre] : null,
    );
  }
  return out;
}

export interface LinearOptions {
  /** The seeded generator the initial weights are drawn from (required: every random draw takes one). */
  rng: Rng;
  /** Whether to add a learned bias. Default true. */
  bias?: boolean;
  /** Applied after the bias, fused into the same op. Default 'identity'. */
  activation?: Activation;
  /**
   * Weight initialisation. Default 'uniform' (PyTorch's U(±1/sqrt(in)) for weight and bias);
   * 'orthogonal' (Saxe et al. 2014, bias zero) is what PPO uses; 'xavier' is Glorot uniform.
   */
  init?: WeightInit;
  /** Scale for 'orthogonal' and 'xavier'. Default 1. */
  gain?: number;
}

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly activation: Activation;
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions) {
    super();
    checkInt('Linear: inFeatures', inFeatures);
    checkInt('Linear: outFeatures', outFeatures);
    if (!options?.rng) throw new Error('Linear: options.rng (a seeded Rng) is required');
    const init = options.init ?? 'uniform';
    const gain = options.gain ?? 1;
    const activation = options.activation ?? 'identity';
    checkOneOf('Linear: init', init, WEIGHT_INITS);
    checkNumber('Linear: gain', gain);
    checkActivation('Linear: activation', activation);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.activation = activation;
    const w = new Float32Array(inFeatures * outFeatures);
    const b = (options.bias ?? true) ? new Float32Array(outFeatures) : null;
    initWeights(w, b, 1, inFeatures, outFeatures, init, gain, options.rng);
    this.weight = this.registerParameter('weight', parameter(w, [inFeatures, outFeatures]));
    this.bias = b ? this.registerParameter('bias', parameter(b, [outFeatures])) : null;
  }

  /** [..., in] -> [..., out]. */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias, this.activation);
  }
}
