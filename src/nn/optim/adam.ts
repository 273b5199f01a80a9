/**
 * Adam (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization", Algorithm 1) and AdamW
 * (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization", Algorithm 2).
 *
 * The update is fused: one tight loop per parameter over its raw arrays updates both moments and the
 * weight, with no tensor ops and no allocation per step. As in PyTorch, the bias corrections are folded
 * into the step size and the denominator: θ -= lr/(1-β₁ᵗ) · m / (sqrt(v)/sqrt(1-β₂ᵗ) + ε).
 */
import { type AdamStep, kernels, type Tensor } from '../../tensor/index.ts';
import { checkNumber } from '../errors.ts';
import { Optimizer, type OptimizerState } from './optimizer.ts';

export interface AdamOptions {
  /** Step size α. Default 1e-3. */
  lr?: number;
  /** Decay rates (β₁, β₂) of the first and second moment estimates, each in [0, 1). Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Added to the denominator for numerical stability. Default 1e-8. Must be > 0. */
  eps?: number;
  /**
   * Weight decay. Adam adds it to the gradient (L2 regularisation, as PyTorch's Adam); AdamW decays the
   * weights directly, decoupled from the adaptive step. Default 0 for Adam, 1e-2 for AdamW.
   */
  weightDecay?: number;
  /**
   * Per parameter, the length of the whole parameter it is a slice of (AdamStep.wholeLength), for an
   * optimiser that steps one thread's share of split parameters. Default: each parameter's own size.
   */
  wholeLengths?: readonly number[];
}

export class Adam extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** True for AdamW's decoupled decay. */
  readonly decoupled: boolean;
  private readonly wholeLengths: readonly number[] | null;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];

  constructor(params: readonly Tensor[], options: AdamOptions = {}, decoupled = false) {
    const what = decoupled ? 'AdamW' : 'Adam';
    super(params, options.lr ?? 1e-3, what);
    const [beta1, beta2] = options.betas ?? [0.9, 0.999];
    checkNumber(`${what}: betas[0]`, beta1, 0, 1, { max: true });
    checkNumber(`${what}: betas[1]`, beta2, 0, 1, { max: true });
    this.eps = options.eps ?? 1e-8;
    checkNumber(`${what}: eps`, this.eps, 0, Number.POSITIVE_INFINITY, { min: true });
    this.weightDecay = options.weightDecay ?? (decoupled ? 1e-2 : 0);
    checkNumber(`${what}: weightDecay`, this.weightDecay, 0);
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.decoupled = decoupled;
    this.wholeLengths = options.wholeLengths ?? null;
    if (this.wholeLengths && this.wholeLengths.length !== this.params.length) {
      throw new Error(
        `${what}: ${this.wholeLengths.length} wholeLengths for ${this.params.length} parameters`,
      );
    }
    this.m = this.params.map((p) => new Float32Array(p.size));
    this.v = this.params.map((p) => new Float32Array(p.size));
  }

  step(): void {
    this.stepCount++;
    const t = this.stepCount;
    const lr = this.lr;
    const b1 = this.beta1;
    const b2 = this.beta2;
    const eps = this.eps;
    const wd = this.weightDecay;
    const stepSize = lr / (1 - b1 ** t);
    const invSqrtBc2 = 1 / Math.sqrt(1 - b2 ** t);
    // L2 decay joins the gradient; decoupled decay shrinks the weight by lr·λ before the step.
    const l2 = this.decoupled ? 0 : wd;
    const shrink = this.decoupled ? 1 - lr * wd : 1;
    // The fused update is a tensor-layer kernel (JS reference: adamJs; the WebAssembly set has a SIMD one).
    const update = kernels().adam;
    const scalars: AdamStep = { b1, b2, stepSize, invSqrtBc2, eps, l2, shrink };
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k]!;
      const whole = this.wholeLengths?.[k];
      const s = whole === undefined ? scalars : { ...scalars, wholeLength: whole };
      if (p.grad) update(p.data, p.grad.data, this.m[k]!, this.v[k]!, s);
    }
  }

  private get kind(): string {
    return this.decoupled ? 'adamw' : 'adam';
  }

  stateDict(): OptimizerState {
    const buffers: Record<string, Float32Array> = {};
    this.params.forEach((_, i) => {
      buffers[`${i}.exp_avg`] = this.m[i]!.slice();
      buffers[`${i}.exp_avg_sq`] = this.v[i]!.slice();
    });
    return {
      kind: this.kind,
      step: this.stepCount,
      hyper: {
        lr: this.lr,
        beta1: this.beta1,
        beta2: this.beta2,
        eps: this.eps,
        weightDecay: this.weightDecay,
      },
      buffers,
    };
  }

  /** Restores moments and step count; the learning rate is restored too (other hyperparameters are fixed). */
  loadStateDict(state: OptimizerState): void {
    this.checkState(state, this.kind, ['exp_avg', 'exp_avg_sq']);
    this.params.forEach((_, i) => {
      this.m[i]!.set(state.buffers[`${i}.exp_avg`]!);
      this.v[i]!.set(state.buffers[`${i}.exp_avg_sq`]!);
    });
    this.stepCount = state.step;
    if (typeof state.hyper.lr === 'number') this.lr = state.hyper.lr;
  }
}

/** AdamW: Adam with weight decay decoupled from the gradient (Loshchilov & Hutter 2019). */
export class AdamW extends Adam {
  constructor(params: readonly Tensor[], options: AdamOptions = {}) {
    super(params, options, true);
  }
}
