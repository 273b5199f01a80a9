/**
 * PPO's policy and value function: two separate tanh MLPs (an actor and a critic, as Stable-Baselines3's
 * MlpPolicy and CleanRL's PPO), orthogonally initialised with gain sqrt(2) on hidden layers, 0.01 on the
 * policy head and 1 on the value head (Andrychowicz et al. 2021, "What matters in on-policy RL", C.2/C.4).
 * Continuous actions add a learned state-independent log standard deviation.
 *
 * Observation normalisation lives here as two saved buffers (`obsMean`, `obsVar`), so a checkpoint of the
 * policy carries what it needs to act; the trainer owns the running statistics and copies them in.
 */
import { MLP, Module } from '../nn/index.ts';
import { noGrad, type Rng, type Tensor, tensor, zeros } from '../tensor/index.ts';
import { Categorical, DiagonalGaussian } from './distributions.ts';
import { normalizeRows } from './running-stats.ts';
import { actionSize, isDiscrete, type RlActionSpace } from './vector-env.ts';

export interface ActorCriticOptions {
  observationSize: number;
  actionSpace: RlActionSpace;
  hiddenSizes: readonly number[];
  /** Initial log standard deviation of continuous actions. */
  initialLogStd: number;
  /** Normalise observations with `obsMean`/`obsVar`; when false they pass through unchanged. */
  normalizeObservations: boolean;
  rng: Rng;
}

/** Clip applied to normalised observations, as Stable-Baselines3's VecNormalize. */
export const OBSERVATION_CLIP = 10;

export class ActorCritic extends Module {
  readonly observationSize: number;
  readonly actionSpace: RlActionSpace;
  readonly discrete: boolean;
  /** Outputs per row of the actor: logits (discrete) or means (continuous). */
  readonly actionOutputs: number;
  readonly actor: MLP;
  readonly critic: MLP;
  readonly logStd: Tensor | null;
  readonly obsMean: Tensor;
  readonly obsVar: Tensor;
  readonly normalizesObservations: boolean;

  constructor(options: ActorCriticOptions) {
    super();
    const { observationSize, actionSpace, hiddenSizes, rng } = options;
    this.observationSize = observationSize;
    this.normalizesObservations = options.normalizeObservations;
    this.actionSpace = actionSpace;
    this.discrete = isDiscrete(actionSpace);
    this.actionOutputs = isDiscrete(actionSpace) ? actionSpace.n : actionSize(actionSpace);
    const common = { rng, activation: 'tanh', init: 'orthogonal', gain: Math.SQRT2 } as const;
    this.actor = this.registerModule(
      'actor',
      new MLP([observationSize, ...hiddenSizes, this.actionOutputs], { ...common, outputGain: 0.01 }),
    );
    this.critic = this.registerModule(
      'critic',
      new MLP([observationSize, ...hiddenSizes, 1], { ...common, outputGain: 1 }),
    );
    this.logStd = this.discrete
      ? null
      : this.registerParameter(
          'logStd',
          tensor(new Float32Array(this.actionOutputs).fill(options.initialLogStd), [this.actionOutputs]),
        );
    this.obsMean = this.registerBuffer('obsMean', zeros([observationSize]));
    this.obsVar = this.registerBuffer('obsVar', tensor(new Float32Array(observationSize).fill(1)));
  }

  /**
   * Writes (x - mean) / sqrt(var + 1e-8), clipped, row by row into `out` (may alias `raw`); a plain copy
   * when this policy does not normalise.
   */
  normalizeObservations(raw: Float32Array, out: Float32Array): Float32Array {
    if (raw.length % this.observationSize !== 0) {
      throw new Error(
        `ActorCritic: ${raw.length} observation values are not rows of ${this.observationSize}`,
      );
    }
    if (!this.normalizesObservations) {
      if (out !== raw) out.set(raw);
      return out;
    }
    return normalizeRows(
      'ActorCritic',
      raw,
      this.obsMean.data,
      this.obsVar.data,
      out,
      OBSERVATION_CLIP,
      1e-8,
    );
  }

  /** The action distribution for a batch of (already normalised) observations [batch, obs]. */
  distribution(observations: Tensor, temperature = 1): Categorical | DiagonalGaussian {
    const out = this.actor.forward(observations);
    return this.discrete ? new Categorical(out, temperature) : new DiagonalGaussian(out, this.logStd!);
  }

  /** V(s) for a batch of normalised observations, [batch]. */
  value(observations: Tensor): Tensor {
    return this.critic.forward(observations).reshape(-1);
  }

  /**
   * The greedy action for each row of raw observations (argmax of the logits, or the Gaussian mean clipped
   * to the box), for evaluation. `out` holds one number per row (discrete) or actionOutputs per row.
   */
  act(rawObservations: Float32Array, out?: Float32Array): Float32Array {
    const rows = rawObservations.length / this.observationSize;
    const result = out ?? new Float32Array(rows * (this.discrete ? 1 : this.actionOutputs));
    noGrad(() => {
      const x = tensor(
        this.normalizeObservations(rawObservations, new Float32Array(rawObservations.length)),
        [rows, this.observationSize],
      );
      const dist = this.distribution(x);
      if (dist instanceof Categorical) {
        const modes = dist.mode();
        for (let i = 0; i < rows; i++) result[i] = modes[i]!;
      } else {
        clipToBox(this.actionSpace, dist.mean.data, result);
      }
    });
    return result;
  }
}

/** Clips continuous actions to the box elementwise into `out` (the env sees the clipped action). */
export function clipToBox(space: RlActionSpace, actions: Float32Array, out: Float32Array): Float32Array {
  if (isDiscrete(space)) throw new Error('clipToBox: the action space is discrete');
  const dims = actionSize(space);
  for (let i = 0; i < actions.length; i++) {
    const low = space.low[i % dims]!;
    const high = space.high[i % dims]!;
    const a = actions[i]!;
    out[i] = a < low ? low : a > high ? high : a;
  }
  return out;
}
