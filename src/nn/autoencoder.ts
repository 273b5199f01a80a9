/**
 * A denoising autoencoder (Vincent et al. 2008, "Extracting and Composing Robust Features with Denoising
 * Autoencoders"): trained to reconstruct clean inputs from copies corrupted with Gaussian noise, it learns
 * the data's manifold, so its reconstruction error is low on inputs like its training data and high on
 * unfamiliar ones. `reconstructionError` gives that error per row, usable as a novelty score (the planned
 * model environment, not yet written, is to penalise imagined states with it).
 */
import { noGrad, type Rng, resultTensor, shapeString, type Tensor } from '../tensor/index.ts';
import { type Activation, checkActivation } from './activation.ts';
import { checkInt, checkNumber } from './errors.ts';
import { mse } from './losses.ts';
import { MLP } from './mlp.ts';
import { Module } from './module.ts';

export interface DenoisingAutoencoderOptions {
  /** Seeded generator for the initial weights (required). */
  rng: Rng;
  /** Hidden layer sizes of the encoder; the decoder mirrors them. Default [64]. */
  hidden?: readonly number[];
  /** Size of the bottleneck. Default ceil(inputSize / 2). */
  latent?: number;
  /** Hidden activation. Default 'tanh'. */
  activation?: Activation;
  /** Standard deviation of the Gaussian corruption used by `loss`. Default 0.1. Must be >= 0. */
  noiseStd?: number;
}

export class DenoisingAutoencoder extends Module {
  readonly inputSize: number;
  readonly noiseStd: number;
  readonly encoder: MLP;
  readonly decoder: MLP;

  constructor(inputSize: number, options: DenoisingAutoencoderOptions) {
    super();
    checkInt('DenoisingAutoencoder: inputSize', inputSize);
    if (!options?.rng) throw new Error('DenoisingAutoencoder: options.rng (a seeded Rng) is required');
    const hidden = options.hidden ?? [64];
    const latent = options.latent ?? Math.ceil(inputSize / 2);
    const activation = options.activation ?? 'tanh';
    this.noiseStd = options.noiseStd ?? 0.1;
    hidden.forEach((h, i) => {
      checkInt(`DenoisingAutoencoder: hidden[${i}]`, h);
    });
    checkInt('DenoisingAutoencoder: latent', latent);
    checkActivation('DenoisingAutoencoder: activation', activation);
    checkNumber('DenoisingAutoencoder: noiseStd', this.noiseStd, 0);
    this.inputSize = inputSize;
    this.encoder = this.registerModule(
      'encoder',
      new MLP([inputSize, ...hidden, latent], { rng: options.rng, activation, outputActivation: activation }),
    );
    this.decoder = this.registerModule(
      'decoder',
      new MLP([latent, ...[...hidden].reverse(), inputSize], { rng: options.rng, activation }),
    );
  }

  private checkInput(x: Tensor, where: string): void {
    if (x.ndim !== 2 || x.shape[1] !== this.inputSize) {
      throw new Error(
        `DenoisingAutoencoder.${where}: input of shape ${shapeString(x.shape)} does not fit; ` +
          `expected [N, ${this.inputSize}]`,
      );
    }
  }

  /** [N, in] -> reconstruction [N, in]. */
  forward(x: Tensor): Tensor {
    this.checkInput(x, 'forward');
    return this.decoder.forward(this.encoder.forward(x));
  }

  /** [N, in] -> code [N, latent]. */
  encode(x: Tensor): Tensor {
    this.checkInput(x, 'encode');
    return this.encoder.forward(x);
  }

  /** The denoising loss: MSE between the reconstruction of x + N(0, noiseStd²) and the clean x. */
  loss(x: Tensor, rng: Rng): Tensor {
    this.checkInput(x, 'loss');
    const noisy = resultTensor(x.shape);
    for (let i = 0; i < x.size; i++) noisy.data[i] = x.data[i]! + this.noiseStd * rng.normal();
    return mse(this.decoder.forward(this.encoder.forward(noisy)), x.detach());
  }

  /** Mean squared reconstruction error of each row of the clean input x [N, in], without noise or graph. */
  reconstructionError(x: Tensor): Float32Array {
    this.checkInput(x, 'reconstructionError');
    const [n, d] = x.shape as [number, number];
    const out = new Float32Array(n);
    noGrad(() => {
      const y = this.forward(x).data;
      for (let r = 0; r < n; r++) {
        let total = 0;
        for (let j = 0; j < d; j++) {
          const diff = y[r * d + j]! - x.data[r * d + j]!;
          total += diff * diff;
        }
        out[r] = total / d;
      }
    });
    return out;
  }
}
