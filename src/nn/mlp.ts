/** `MLP`: a stack of fused Linear layers, `sizes = [in, hidden..., out]`. */
import type { Rng, Tensor } from '../tensor/index.ts';
import { type Activation, checkActivation } from './activation.ts';
import { checkInt } from './errors.ts';
import type { WeightInit } from './init.ts';
import { Linear } from './linear.ts';
import { Module } from './module.ts';

export interface MLPOptions {
  /** Seeded generator for the initial weights (required). */
  rng: Rng;
  /** After every hidden layer. Default 'tanh'. */
  activation?: Activation;
  /** After the last layer. Default 'identity'. */
  outputActivation?: Activation;
  /** Weight initialisation for every layer; see `LinearOptions.init`. Default 'uniform'. */
  init?: WeightInit;
  /** Gain of the hidden layers for 'orthogonal'/'xavier'. Default sqrt(2), as PPO implementations use. */
  gain?: number;
  /** Gain of the last layer for 'orthogonal'/'xavier'. Default 1 (PPO: 0.01 for a policy head). */
  outputGain?: number;
}

export class MLP extends Module {
  readonly sizes: readonly number[];
  readonly layers: Linear[] = [];

  constructor(sizes: readonly number[], options: MLPOptions) {
    super();
    if (!Array.isArray(sizes) || sizes.length < 2) {
      throw new Error(`MLP: sizes must list at least [in, out], got ${JSON.stringify(sizes)}`);
    }
    sizes.forEach((s, i) => {
      checkInt(`MLP: sizes[${i}]`, s);
    });
    if (!options?.rng) throw new Error('MLP: options.rng (a seeded Rng) is required');
    const activation = options.activation ?? 'tanh';
    const outputActivation = options.outputActivation ?? 'identity';
    checkActivation('MLP: activation', activation);
    checkActivation('MLP: outputActivation', outputActivation);
    this.sizes = [...sizes];
    for (let i = 0; i + 1 < sizes.length; i++) {
      const last = i + 2 === sizes.length;
      const layer = new Linear(sizes[i]!, sizes[i + 1]!, {
        rng: options.rng,
        activation: last ? outputActivation : activation,
        init: options.init ?? 'uniform',
        gain: last ? (options.outputGain ?? 1) : (options.gain ?? Math.SQRT2),
      });
      this.layers.push(this.registerModule(String(i), layer));
    }
  }

  /** [..., in] -> [..., out]. */
  forward(x: Tensor): Tensor {
    let h = x;
    for (const layer of this.layers) h = layer.forward(h);
    return h;
  }
}
