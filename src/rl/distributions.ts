/**
 * The action distributions PPO's policy outputs: a categorical over logits (discrete actions), with a
 * temperature that flattens or sharpens it for exploration, and a diagonal Gaussian with a learned,
 * state-independent log standard deviation (continuous actions). Log-probabilities and entropies are
 * tensors, so gradients flow through them into the policy.
 */
import { noGrad, type Rng, type Tensor, zeros } from '../tensor/index.ts';

const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

export class Categorical {
  /** log pi(a | s) for every action, [batch, actions]. */
  readonly logProbs: Tensor;

  constructor(logits: Tensor, temperature = 1) {
    if (!(temperature > 0)) throw new Error(`Categorical: temperature must be > 0, got ${temperature}`);
    if (logits.ndim !== 2)
      throw new Error(`Categorical: logits must be [batch, actions], got [${logits.shape.join(', ')}]`);
    this.logProbs = (temperature === 1 ? logits : logits.div(temperature)).logSoftmax(-1);
  }

  get batch(): number {
    return this.logProbs.shape[0]!;
  }

  get actions(): number {
    return this.logProbs.shape[1]!;
  }

  /** log pi(a_i | s_i) for the given action of each row, [batch]. */
  logProb(actions: ArrayLike<number>): Tensor {
    return this.logProbs.gather(actions);
  }

  /** H = -sum_a pi(a) log pi(a), per row. */
  entropy(): Tensor {
    return this.logProbs.exp().mul(this.logProbs).sum(-1).neg();
  }

  /** One action per row by inverse-CDF sampling with the seeded `rng`. */
  sample(rng: Rng, out: Int32Array = new Int32Array(this.batch)): Int32Array {
    const lp = this.logProbs.data;
    const n = this.actions;
    for (let i = 0; i < this.batch; i++) {
      let u = rng.uniform();
      let chosen = n - 1;
      for (let a = 0; a < n; a++) {
        u -= Math.exp(lp[i * n + a]!);
        if (u < 0) {
          chosen = a;
          break;
        }
      }
      out[i] = chosen;
    }
    return out;
  }

  /** The most likely action per row. */
  mode(out: Int32Array = new Int32Array(this.batch)): Int32Array {
    const lp = this.logProbs.data;
    const n = this.actions;
    for (let i = 0; i < this.batch; i++) {
      let best = 0;
      for (let a = 1; a < n; a++) if (lp[i * n + a]! > lp[i * n + best]!) best = a;
      out[i] = best;
    }
    return out;
  }
}

export class DiagonalGaussian {
  constructor(
    /** [batch, dims] */
    readonly mean: Tensor,
    /** [dims], broadcast over the batch */
    readonly logStd: Tensor,
  ) {
    if (mean.ndim !== 2 || logStd.ndim !== 1 || logStd.shape[0] !== mean.shape[1]) {
      throw new Error(
        `DiagonalGaussian: mean must be [batch, dims] and logStd [dims], got [${mean.shape.join(', ')}] and ` +
          `[${logStd.shape.join(', ')}]`,
      );
    }
  }

  get batch(): number {
    return this.mean.shape[0]!;
  }

  get dims(): number {
    return this.mean.shape[1]!;
  }

  /** log N(a; mu, sigma^2) summed over dimensions, [batch]; `actions` row-major [batch, dims]. */
  logProb(actions: Tensor): Tensor {
    const z = actions.sub(this.mean).div(this.logStd.exp());
    return z.square().mul(-0.5).sub(this.logStd).sub(HALF_LOG_TWO_PI).sum(-1);
  }

  /** sum_d (log sigma_d + 0.5 log(2 pi e)), the same for every row; returned per row, [batch]. */
  entropy(): Tensor {
    return zeros([this.batch]).add(this.logStd.add(0.5 + HALF_LOG_TWO_PI).sum());
  }

  /** mu + sigma * N(0, 1), without gradient. */
  sample(rng: Rng, out: Float32Array = new Float32Array(this.batch * this.dims)): Float32Array {
    return noGrad(() => {
      const mu = this.mean.data;
      const ls = this.logStd.data;
      for (let i = 0; i < out.length; i++) out[i] = mu[i]! + Math.exp(ls[i % this.dims]!) * rng.normal();
      return out;
    });
  }
}
