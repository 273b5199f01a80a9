/**
 * Stochastic gradient descent with optional momentum, in PyTorch's form: the velocity starts as the first
 * gradient, then v = μv + (1 - dampening)·g; the step is lr·v, or lr·(g + μv) with Nesterov momentum
 * (Sutskever et al. 2013). One tight loop per parameter, no allocation per step.
 */
import type { Tensor } from '../../tensor/index.ts';
import { checkNumber } from '../errors.ts';
import { Optimizer, type OptimizerState } from './optimizer.ts';

export interface SGDOptions {
  /** Step size. Default 1e-2. */
  lr?: number;
  /** Momentum μ in [0, 1). Default 0 (plain SGD). */
  momentum?: number;
  /** Dampening of the momentum, in [0, 1]. Default 0. */
  dampening?: number;
  /** Nesterov momentum; needs momentum > 0 and dampening 0. Default false. */
  nesterov?: boolean;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
}

export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  private readonly velocity: Float32Array[];

  constructor(params: readonly Tensor[], options: SGDOptions = {}) {
    super(params, options.lr ?? 1e-2, 'SGD');
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.nesterov = options.nesterov ?? false;
    this.weightDecay = options.weightDecay ?? 0;
    checkNumber('SGD: momentum', this.momentum, 0, 1, { max: true });
    checkNumber('SGD: dampening', this.dampening, 0, 1);
    checkNumber('SGD: weightDecay', this.weightDecay, 0);
    if (this.nesterov && (this.momentum === 0 || this.dampening !== 0)) {
      throw new Error(
        `SGD: nesterov needs momentum > 0 and dampening 0, got momentum ${this.momentum}, dampening ${this.dampening}`,
      );
    }
    this.velocity = this.params.map((p) => new Float32Array(this.momentum > 0 ? p.size : 0));
  }

  step(): void {
    const first = this.stepCount === 0;
    this.stepCount++;
    const lr = this.lr;
    const mu = this.momentum;
    const keep = 1 - this.dampening;
    const wd = this.weightDecay;
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k]!;
      if (!p.grad) continue;
      const w = p.data;
      const g = p.grad.data;
      const n = w.length;
      if (mu === 0) {
        for (let i = 0; i < n; i++) w[i]! -= lr * (g[i]! + wd * w[i]!);
        continue;
      }
      const v = this.velocity[k]!;
      for (let i = 0; i < n; i++) {
        const gi = g[i]! + wd * w[i]!;
        const vi = first ? gi : mu * v[i]! + keep * gi;
        v[i] = vi;
        w[i]! -= lr * (this.nesterov ? gi + mu * vi : vi);
      }
    }
  }

  stateDict(): OptimizerState {
    const buffers: Record<string, Float32Array> = {};
    if (this.momentum > 0) {
      this.params.forEach((_, i) => {
        buffers[`${i}.momentum_buffer`] = this.velocity[i]!.slice();
      });
    }
    return {
      kind: 'sgd',
      step: this.stepCount,
      hyper: {
        lr: this.lr,
        momentum: this.momentum,
        dampening: this.dampening,
        nesterov: this.nesterov,
        weightDecay: this.weightDecay,
      },
      buffers,
    };
  }

  loadStateDict(state: OptimizerState): void {
    this.checkState(state, 'sgd', this.momentum > 0 ? ['momentum_buffer'] : []);
    if (this.momentum > 0) {
      this.params.forEach((_, i) => {
        this.velocity[i]!.set(state.buffers[`${i}.momentum_buffer`]!);
      });
    }
    this.stepCount = state.step;
    if (typeof state.hyper.lr === 'number') this.lr = state.hyper.lr;
  }
}
