/**
 * Proximal Policy Optimization (Schulman et al. 2017, "Proximal Policy Optimization Algorithms"),
 * Algorithm 1, as a reader can follow it top to bottom:
 *
 *   for each update:
 *     1. collect T steps from each of N envs with the current policy        (collectRollout)
 *     2. compute advantages with GAE(lambda)                                 (computeGae, gae.ts)
 *     3. for K epochs, over shuffled minibatches, minimise                   (optimise)
 *          L = -L_CLIP(theta) + c1 L_VF(theta) - c2 S[pi_theta]              (eq. 9)
 *        with L_CLIP = E[min(r A, clip(r, 1 - eps, 1 + eps) A)]             (eq. 7)
 *
 * PPO sees its environment only through the vector-env contract (vector-env.ts), so a learned model of the
 * environment trains it exactly as the real one does. Every random draw comes from one seeded generator and
 * `state()` captures everything else that changes, so a run can stop and resume with identical results.
 */
import { Adam, clipGradNorm } from '../nn/index.ts';
import { noGrad, Rng, Tensor, tidy } from '../tensor/index.ts';
import { ActorCritic, clipToBox } from './actor-critic.ts';
import { Categorical, type DiagonalGaussian } from './distributions.ts';
import { computeGae } from './gae.ts';
import { type PpoConfig, resolvePpoConfig } from './ppo-config.ts';
import { RunningMeanStd } from './running-stats.ts';
import { actionSize, type RlVectorEnv } from './vector-env.ts';

/** What one update reports (one line of metrics.jsonl). */
export interface PpoUpdateMetrics {
  update: number;
  /** Real environment steps so far (all envs). */
  steps: number;
  /** Episodes that ended during this update's rollout. */
  episodes: number;
  /** Mean return and length of the last (up to) 100 finished episodes; null before the first one ends. */
  meanReturn: number | null;
  meanLength: number | null;
  policyLoss: number;
  valueLoss: number;
  entropy: number;
  /** Mean over minibatches of the estimator E[(r - 1) - log r] of KL(old || new) (Schulman's k3). */
  approxKl: number;
  /** Fraction of samples whose ratio was clipped. */
  clipFraction: number;
  /** 1 - Var[returns - values] / Var[returns]: how much of the return the critic explains. */
  explainedVariance: number;
  learningRate: number;
  /** Epochs actually run (fewer when the KL early stop fired). */
  epochs: number;
  /** Seconds spent collecting and optimising in this update. */
  rolloutSeconds: number;
  optimiseSeconds: number;
}

/** Everything besides the weights and optimiser moments that a resumed run needs, as plain JSON. */
export interface PpoState {
  steps: number;
  updates: number;
  rng: number[];
  observationStats: ReturnType<RunningMeanStd['toJSON']>;
  rewardStats: ReturnType<RunningMeanStd['toJSON']>;
  /** Per env, the discounted return accumulated for reward scaling. */
  discountedReturns: number[];
  recentReturns: number[];
  recentLengths: number[];
}

const RECENT_EPISODES = 100;
/** Clip applied to scaled rewards, as Stable-Baselines3's VecNormalize. */
const REWARD_CLIP = 10;

export class Ppo {
  readonly config: PpoConfig;
  readonly policy: ActorCritic;
  readonly optimizer: Adam;
  readonly numUpdates: number;
  steps = 0;
  updates = 0;

  private readonly rng: Rng;
  private readonly envs: number;
  private readonly obsSize: number;
  private readonly actSize: number;
  private readonly observationStats: RunningMeanStd;
  private readonly rewardStats = new RunningMeanStd(1);
  private readonly discountedReturns: Float64Array;
  private readonly recentReturns: number[] = [];
  private readonly recentLengths: number[] = [];
  /** The normalised observation each env is in now: the input of the next action. */
  private readonly currentObs: Float32Array;
  private started = false;

  // The rollout, time-major [T, N, ...], allocated once.
  private readonly obs: Float32Array;
  private readonly actions: Float32Array;
  private readonly logProbs: Float32Array;
  private readonly values: Float32Array;
  private readonly rewards: Float32Array;
  private readonly terminated: Uint8Array;
  private readonly truncated: Uint8Array;
  private readonly truncatedValues: Float32Array;
  private readonly lastValues: Float32Array;
  /** Scratch for one normalised final observation and for one return fed to the reward statistics. */
  private readonly finalObs: Float32Array;
  private readonly oneReturn = new Float32Array(1);

  constructor(
    readonly env: RlVectorEnv,
    overrides: Partial<PpoConfig> = {},
  ) {
    this.config = resolvePpoConfig(overrides, env.numEnvs);
    const c = this.config;
    this.envs = env.numEnvs;
    this.obsSize = env.observationSize;
    this.actSize = actionSize(env.actionSpace);
    this.rng = new Rng(c.seed);
    this.policy = new ActorCritic({
      observationSize: this.obsSize,
      actionSpace: env.actionSpace,
      hiddenSizes: c.hiddenSizes,
      initialLogStd: c.initialLogStd,
      normalizeObservations: c.normalizeObservations,
      rng: this.rng.fork(),
    });
    // eps 1e-5 as in OpenAI baselines, CleanRL and Stable-Baselines3's PPO.
    this.optimizer = new Adam(this.policy.parameters(), { lr: c.learningRate, eps: 1e-5 });
    this.numUpdates = plannedUpdates(c, this.envs);
    this.observationStats = new RunningMeanStd(this.obsSize);
    this.discountedReturns = new Float64Array(this.envs);
    this.currentObs = new Float32Array(this.envs * this.obsSize);
    const rollout = c.stepsPerEnv * this.envs;
    this.obs = new Float32Array(rollout * this.obsSize);
    this.actions = new Float32Array(rollout * this.actSize);
    this.logProbs = new Float32Array(rollout);
    this.values = new Float32Array(rollout);
    this.rewards = new Float32Array(rollout);
    this.terminated = new Uint8Array(rollout);
    this.truncated = new Uint8Array(rollout);
    this.truncatedValues = new Float32Array(rollout);
    this.lastValues = new Float32Array(this.envs);
    this.finalObs = new Float32Array(this.obsSize);
  }

  get done(): boolean {
    return this.updates >= this.numUpdates;
  }

  /** Resets the envs with the run's seed; call once before the first update of a fresh run. */
  start(): void {
    const { observations } = this.env.reset(this.config.seed);
    this.observe(observations);
    this.started = true;
  }

  /**
   * Continues a run from a saved state; `rawObservations` are the envs' current observations (the env is
   * restored separately, for example by replaying its recorded actions).
   */
  resume(state: PpoState, rawObservations: Float32Array): void {
    this.steps = state.steps;
    this.updates = state.updates;
    this.rng.setState(state.rng);
    copyStats(RunningMeanStd.fromJSON(state.observationStats), this.observationStats);
    copyStats(RunningMeanStd.fromJSON(state.rewardStats), this.rewardStats);
    this.discountedReturns.set(state.discountedReturns);
    this.recentReturns.splice(0, Infinity, ...state.recentReturns);
    this.recentLengths.splice(0, Infinity, ...state.recentLengths);
    this.syncObservationBuffers();
    this.policy.normalizeObservations(rawObservations, this.currentObs);
    this.started = true;
  }

  state(): PpoState {
    return {
      steps: this.steps,
      updates: this.updates,
      rng: this.rng.getState(),
      observationStats: this.observationStats.toJSON(),
      rewardStats: this.rewardStats.toJSON(),
      discountedReturns: Array.from(this.discountedReturns),
      recentReturns: [...this.recentReturns],
      recentLengths: [...this.recentLengths],
    };
  }

  /** One PPO update: collect a rollout, then optimise the surrogate on it. */
  update(): PpoUpdateMetrics {
    if (!this.started) throw new Error('Ppo.update: call start() (or resume()) first');
    if (this.done) throw new Error(`Ppo.update: all ${this.numUpdates} updates are done`);
    const c = this.config;
    // Linear annealing of the step size to 0 over training (Schulman et al. 2017, Table 3 uses it for Atari).
    const lr = c.annealLearningRate ? c.learningRate * (1 - this.updates / this.numUpdates) : c.learningRate;
    this.optimizer.lr = lr;
    const t0 = performance.now();
    const episodes = this.collectRollout();
    const t1 = performance.now();
    const { advantages, returns } = computeGae({
      steps: c.stepsPerEnv,
      envs: this.envs,
      rewards: this.rewards,
      values: this.values,
      terminated: this.terminated,
      truncated: this.truncated,
      truncatedValues: this.truncatedValues,
      lastValues: this.lastValues,
      gamma: c.gamma,
      lambda: c.lambda,
    });
    const stats = this.optimise(advantages, returns);
    const t2 = performance.now();
    this.updates++;
    return {
      update: this.updates,
      steps: this.steps,
      episodes,
      meanReturn: meanOrNull(this.recentReturns),
      meanLength: meanOrNull(this.recentLengths),
      ...stats,
      explainedVariance: explainedVariance(this.values, returns),
      learningRate: lr,
      rolloutSeconds: (t1 - t0) / 1000,
      optimiseSeconds: (t2 - t1) / 1000,
    };
  }

  /** Step 1: T steps of every env, storing what the update needs. Returns the episodes that ended. */
  private collectRollout(): number {
    const c = this.config;
    const { envs, obsSize, actSize } = this;
    const envActions = new Float32Array(envs * actSize);
    const input = new Tensor(this.currentObs, [envs, obsSize]);
    let episodes = 0;
    for (let t = 0; t < c.stepsPerEnv; t++) {
      const row = t * envs;
      this.obs.set(this.currentObs, row * obsSize);
      noGrad(() =>
        tidy(() => {
          const dist = this.policy.distribution(input, c.temperature);
          this.values.set(this.policy.value(input).data, row);
          const sampled = this.actions.subarray(row * actSize, (row + envs) * actSize);
          if (dist instanceof Categorical) {
            const chosen = dist.sample(this.rng);
            sampled.set(chosen);
            this.logProbs.set(dist.logProb(chosen).data, row);
            envActions.set(chosen);
          } else {
            dist.sample(this.rng, sampled);
            this.logProbs.set(dist.logProb(new Tensor(sampled, [envs, actSize])).data, row);
            // The env gets the clipped action; the log-probability is the unclipped sample's.
            clipToBox(this.env.actionSpace, sampled, envActions);
          }
        }),
      );
      const result = this.env.step(envActions);
      this.steps += envs;
      for (let i = 0; i < envs; i++) {
        const k = row + i;
        this.terminated[k] = result.terminated[i]!;
        this.truncated[k] = result.truncated[i]!;
        this.rewards[k] = this.scaleReward(
          i,
          result.rewards[i]!,
          result.terminated[i]! || result.truncated[i]!,
        );
        if (result.terminated[i] || result.truncated[i]) {
          episodes++;
          pushRecent(this.recentReturns, result.episodeReturns[i]!);
          pushRecent(this.recentLengths, result.episodeLengths[i]!);
        }
        this.truncatedValues[k] = 0;
      }
      this.bootstrapTruncated(result.truncated, result.finalObservations, row);
      this.observe(result.observations);
    }
    noGrad(() => tidy(() => this.lastValues.set(this.policy.value(input).data)));
    return episodes;
  }

  /** V(final observation) for each env whose episode was cut by the time limit at this step. */
  private bootstrapTruncated(truncated: Uint8Array, finalObservations: Float32Array, row: number): void {
    const { obsSize } = this;
    const final = this.finalObs;
    for (let i = 0; i < this.envs; i++) {
      if (!truncated[i]) continue;
      this.policy.normalizeObservations(finalObservations.subarray(i * obsSize, (i + 1) * obsSize), final);
      this.truncatedValues[row + i] = noGrad(() =>
        tidy(() => this.policy.value(new Tensor(final, [1, obsSize])).item()),
      );
    }
  }

  /** Folds raw observations into the running statistics and writes their normalised form as current. */
  private observe(raw: Float32Array): void {
    if (this.config.normalizeObservations) {
      this.observationStats.update(raw, this.envs);
      this.syncObservationBuffers();
    }
    this.policy.normalizeObservations(raw, this.currentObs);
  }

  private syncObservationBuffers(): void {
    if (!this.config.normalizeObservations) return;
    this.policy.obsMean.data.set(this.observationStats.mean);
    this.policy.obsVar.data.set(this.observationStats.variance);
  }

  /**
   * Reward scaling as Stable-Baselines3's VecNormalize: divide by the running standard deviation of the
   * discounted return (Engstrom et al. 2020, "Implementation Matters in Deep Policy Gradients", sec. 3).
   */
  private scaleReward(env: number, reward: number, episodeEnded: number): number {
    if (!this.config.normalizeRewards) return reward;
    const ret = this.discountedReturns[env]! * this.config.gamma + reward;
    this.discountedReturns[env] = episodeEnded ? 0 : ret;
    this.oneReturn[0] = ret;
    this.rewardStats.update(this.oneReturn, 1);
    const scaled = reward / Math.sqrt(this.rewardStats.variance[0]! + 1e-8);
    return scaled < -REWARD_CLIP ? -REWARD_CLIP : scaled > REWARD_CLIP ? REWARD_CLIP : scaled;
  }

  /** Step 3: K epochs of minibatch gradient steps on the clipped surrogate (eq. 9). */
  private optimise(
    advantages: Float32Array,
    returns: Float32Array,
  ): Pick<PpoUpdateMetrics, 'policyLoss' | 'valueLoss' | 'entropy' | 'approxKl' | 'clipFraction' | 'epochs'> {
    const c = this.config;
    const { obsSize, actSize } = this;
    const size = c.stepsPerEnv * this.envs;
    const order = new Int32Array(size);
    for (let i = 0; i < size; i++) order[i] = i;
    const mb = c.minibatchSize;
    const mbObs = new Float32Array(mb * obsSize);
    const mbActions = new Float32Array(mb * actSize);
    const mbIndices = new Int32Array(mb);
    const mbLogProbs = new Float32Array(mb);
    const mbAdvantages = new Float32Array(mb);
    const mbReturns = new Float32Array(mb);
    const mbValues = new Float32Array(mb);
    const params = this.policy.parameters();
    const sums = { policyLoss: 0, valueLoss: 0, entropy: 0, approxKl: 0, clipFraction: 0 };
    let minibatches = 0;
    let epochsRun = 0;
    let stop = false;
    for (let epoch = 0; epoch < c.epochs && !stop; epoch++) {
      this.rng.shuffle(order);
      epochsRun++;
      for (let start = 0; start < size; start += mb) {
        const m = Math.min(mb, size - start);
        for (let j = 0; j < m; j++) {
          const k = order[start + j]!;
          mbObs.set(this.obs.subarray(k * obsSize, (k + 1) * obsSize), j * obsSize);
          mbActions.set(this.actions.subarray(k * actSize, (k + 1) * actSize), j * actSize);
          mbIndices[j] = this.actions[k * actSize]!;
          mbLogProbs[j] = this.logProbs[k]!;
          mbAdvantages[j] = advantages[k]!;
          mbReturns[j] = returns[k]!;
          mbValues[j] = this.values[k]!;
        }
        if (c.normalizeAdvantages) normalizeInPlace(mbAdvantages.subarray(0, m));
        const step = tidy(() =>
          this.minibatchStep(
            new Tensor(mbObs.subarray(0, m * obsSize), [m, obsSize]),
            this.policy.discrete
              ? mbIndices.subarray(0, m)
              : new Tensor(mbActions.subarray(0, m * actSize), [m, actSize]),
            mbLogProbs.subarray(0, m),
            mbAdvantages.subarray(0, m),
            mbReturns.subarray(0, m),
            mbValues.subarray(0, m),
            params,
          ),
        );
        if (step === null) {
          stop = true;
          break;
        }
        sums.policyLoss += step.policyLoss;
        sums.valueLoss += step.valueLoss;
        sums.entropy += step.entropy;
        sums.approxKl += step.approxKl;
        sums.clipFraction += step.clipFraction;
        minibatches++;
      }
    }
    const n = Math.max(minibatches, 1);
    return {
      policyLoss: sums.policyLoss / n,
      valueLoss: sums.valueLoss / n,
      entropy: sums.entropy / n,
      approxKl: sums.approxKl / n,
      clipFraction: sums.clipFraction / n,
      epochs: epochsRun,
    };
  }

  /**
   * One gradient step on one minibatch; null (and no step) when the approximate KL already exceeds
   * 1.5 x targetKl, Stable-Baselines3's early stop.
   */
  private minibatchStep(
    obs: Tensor,
    actions: Int32Array | Tensor,
    oldLogProbs: Float32Array,
    advantages: Float32Array,
    returns: Float32Array,
    oldValues: Float32Array,
    params: Tensor[],
  ): {
    policyLoss: number;
    valueLoss: number;
    entropy: number;
    approxKl: number;
    clipFraction: number;
  } | null {
    const c = this.config;
    const m = oldLogProbs.length;
    const dist = this.policy.distribution(obs, c.temperature);
    const newLogProbs =
      dist instanceof Categorical
        ? dist.logProb(actions as Int32Array)
        : (dist as DiagonalGaussian).logProb(actions as Tensor);
    const logRatio = newLogProbs.sub(new Tensor(oldLogProbs, [m]));
    const ratio = logRatio.exp();
    let approxKl = 0;
    let clipped = 0;
    for (let i = 0; i < m; i++) {
      const r = ratio.data[i]!;
      approxKl += r - 1 - logRatio.data[i]!;
      if (Math.abs(r - 1) > c.clipRange) clipped++;
    }
    approxKl /= m;
    if (c.targetKl !== null && approxKl > 1.5 * c.targetKl) return null;

    // L_CLIP (eq. 7), negated to a loss: max(-A r, -A clip(r)).
    const adv = new Tensor(advantages, [m]);
    const unclippedLoss = adv.mul(ratio).neg();
    const clippedLoss = adv.mul(ratio.clamp(1 - c.clipRange, 1 + c.clipRange)).neg();
    const policyLoss = unclippedLoss.maximum(clippedLoss).mean();

    // L_VF: squared error to the GAE returns, optionally clipped around the old values (baselines' PPO2).
    const value = this.policy.value(obs);
    const target = new Tensor(returns, [m]);
    let valueLoss = value.sub(target).square();
    if (c.clipValueLoss) {
      const old = new Tensor(oldValues, [m]);
      const clippedValue = old.add(value.sub(old).clamp(-c.clipRange, c.clipRange));
      valueLoss = valueLoss.maximum(clippedValue.sub(target).square());
    }
    const valueLossMean = valueLoss.mean();
    const entropy = dist.entropy().mean();
    const loss = policyLoss.add(valueLossMean.mul(c.valueCoef)).sub(entropy.mul(c.entropyCoef));

    this.optimizer.zeroGrad();
    loss.backward();
    clipGradNorm(params, c.maxGradNorm);
    this.optimizer.step();
    return {
      policyLoss: policyLoss.item(),
      valueLoss: valueLossMean.item(),
      entropy: entropy.item(),
      approxKl,
      clipFraction: clipped / m,
    };
  }
}

/** Whole updates only: never more real steps than `totalSteps` (at least one update). */
export function plannedUpdates(
  config: Pick<PpoConfig, 'totalSteps' | 'stepsPerEnv'>,
  numEnvs: number,
): number {
  return Math.max(1, Math.floor(config.totalSteps / (numEnvs * config.stepsPerEnv)));
}

function copyStats(from: RunningMeanStd, to: RunningMeanStd): void {
  if (from.size !== to.size) {
    throw new Error(`Ppo.resume: saved statistics have ${from.size} features, expected ${to.size}`);
  }
  to.mean.set(from.mean);
  to.variance.set(from.variance);
  to.count = from.count;
}

function pushRecent(window: number[], value: number): void {
  window.push(value);
  if (window.length > RECENT_EPISODES) window.shift();
}

function meanOrNull(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** (x - mean) / (std + 1e-8), in place: advantage normalisation per minibatch. */
function normalizeInPlace(x: Float32Array): void {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i]!;
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (x[i]! - mean) ** 2;
  // Unbiased, as torch.std, which the reference implementations use.
  const std = n > 1 ? Math.sqrt(variance / (n - 1)) : 0;
  for (let i = 0; i < n; i++) x[i] = (x[i]! - mean) / (std + 1e-8);
}

function explainedVariance(predicted: Float32Array, actual: Float32Array): number {
  const n = actual.length;
  let meanA = 0;
  let meanD = 0;
  for (let i = 0; i < n; i++) {
    meanA += actual[i]!;
    meanD += actual[i]! - predicted[i]!;
  }
  meanA /= n;
  meanD /= n;
  let varA = 0;
  let varD = 0;
  for (let i = 0; i < n; i++) {
    varA += (actual[i]! - meanA) ** 2;
    varD += (actual[i]! - predicted[i]! - meanD) ** 2;
  }
  return varA === 0 ? Number.NaN : 1 - varD / varA;
}
