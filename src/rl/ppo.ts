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
 * PPO sees its environment only through the vector-env contract (vector-env.ts): any env that keeps it
 * trains PPO the same way, and an env that declares itself `imagined` has its steps counted apart from real
 * ones. The policy and its optimiser can be passed in, so one policy can act in one env and learn in
 * another. Every random draw comes from one seeded generator and `state()` captures everything else that
 * changes (the envs' current observations included), so a run can stop and resume with identical results
 * however its env restores itself.
 */
import { Adam, clipGradNorm, type Optimizer } from '../nn/index.ts';
import { noGrad, Rng, Tensor, tidy } from '../tensor/index.ts';
import { ActorCritic, clipToBox } from './actor-critic.ts';
import { Categorical, type DiagonalGaussian } from './distributions.ts';
import { computeGae } from './gae.ts';
import { type PpoConfig, resolvePpoConfig } from './ppo-config.ts';
import { RunningMeanStd } from './running-stats.ts';
import { actionSize, isDiscrete, type RlVectorEnv } from './vector-env.ts';

/** What one update reports (one line of metrics.jsonl). */
export interface PpoUpdateMetrics {
  update: number;
  /** Real environment steps so far (all envs). */
  steps: number;
  /** Imagined steps so far: steps of an env that declares itself `imagined` (a learned model). */
  modelSteps: number;
  /** Gradient steps of this update skipped because the gradient norm was not finite. */
  skippedSteps: number;
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
  /** Real environment steps so far. */
  steps: number;
  /** Imagined (model) steps so far; absent in checkpoints written before it was counted. */
  modelSteps?: number;
  updates: number;
  /** The rollout length T in use (it can change between updates). */
  stepsPerEnv?: number;
  /** Gradient steps skipped in a row at the time of saving (non-finite gradient norm). */
  skippedInARow?: number;
  /** The envs' current raw observations, [numEnvs x observationSize]: where the next rollout starts. */
  observations?: number[];
  rng: number[];
  observationStats: ReturnType<RunningMeanStd['toJSON']>;
  rewardStats: ReturnType<RunningMeanStd['toJSON']>;
  /** Per env, the discounted return accumulated for reward scaling. */
  discountedReturns: number[];
  recentReturns: number[];
  recentLengths: number[];
}

/** A policy and optimiser to train instead of new ones, for example shared with another `Ppo`. */
export interface PpoParts {
  /** Must fit the env: the same observation size and action space. */
  policy?: ActorCritic;
  /** Must optimise exactly the policy's parameters; a new Adam when omitted. */
  optimizer?: Optimizer;
}

const RECENT_EPISODES = 100;
/** Clip applied to scaled rewards, as Stable-Baselines3's VecNormalize. */
const REWARD_CLIP = 10;

export class Ppo {
  readonly config: PpoConfig;
  readonly policy: ActorCritic;
  readonly optimizer: Optimizer;
  readonly numUpdates: number;
  /** Real environment steps so far. */
  steps = 0;
  /** Imagined steps so far (an env with `imagined` set). */
  modelSteps = 0;
  updates = 0;

  private readonly rng: Rng;
  private readonly envs: number;
  /** The rollout length T of the next update; `setRolloutLength` changes it. */
  private stepsPerEnv: number;
  private skippedInARow = 0;
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

  // The rollout, time-major [T, N, ...]: allocated for the longest T so far, used for the current one.
  private rollout: RolloutBuffers;
  private readonly lastValues: Float32Array;
  /** The raw observations the envs are in now (saved in `state()`, so resume needs no env replay). */
  private readonly currentRaw: Float32Array;
  /** Scratch: the normalised final observations of the copies truncated at one step, and their values. */
  private readonly finalObs: Float32Array;
  private readonly truncatedCopies: Int32Array;
  private readonly oneReturn = new Float32Array(1);

  constructor(
    readonly env: RlVectorEnv,
    overrides: Partial<PpoConfig> = {},
    parts: PpoParts = {},
  ) {
    this.config = resolvePpoConfig(overrides, env.numEnvs);
    const c = this.config;
    this.envs = env.numEnvs;
    this.obsSize = env.observationSize;
    this.actSize = actionSize(env.actionSpace);
    this.rng = new Rng(c.seed);
    // The policy's weights are drawn from a fork even when one is passed in, so the sampling stream is the
    // same either way.
    const policyRng = this.rng.fork();
    this.policy =
      parts.policy ??
      new ActorCritic({
        observationSize: this.obsSize,
        actionSpace: env.actionSpace,
        hiddenSizes: c.hiddenSizes,
        initialLogStd: c.initialLogStd,
        normalizeObservations: c.normalizeObservations,
        rng: policyRng,
      });
    checkPolicyFits(this.policy, env, c);
    // eps 1e-5 as in OpenAI baselines, CleanRL and Stable-Baselines3's PPO.
    this.optimizer = parts.optimizer ?? new Adam(this.policy.parameters(), { lr: c.learningRate, eps: 1e-5 });
    checkOptimizerFits(this.optimizer, this.policy);
    this.numUpdates = plannedUpdates(c, this.envs);
    this.stepsPerEnv = c.stepsPerEnv;
    this.observationStats = new RunningMeanStd(this.obsSize);
    this.discountedReturns = new Float64Array(this.envs);
    this.currentObs = new Float32Array(this.envs * this.obsSize);
    this.currentRaw = new Float32Array(this.envs * this.obsSize);
    this.rollout = allocateRollout(c.stepsPerEnv * this.envs, this.obsSize, this.actSize);
    this.lastValues = new Float32Array(this.envs);
    this.finalObs = new Float32Array(this.envs * this.obsSize);
    this.truncatedCopies = new Int32Array(this.envs);
  }

  /** The rollout length T of the next update. */
  get rolloutLength(): number {
    return this.stepsPerEnv;
  }

  /**
   * Changes the rollout length T from the next update on (a horizon schedule): buffers grow when T does.
   * Minibatches keep their size, capped at the rollout's.
   */
  setRolloutLength(stepsPerEnv: number): void {
    if (!Number.isSafeInteger(stepsPerEnv) || stepsPerEnv < 1) {
      throw new Error(`Ppo.setRolloutLength: expected a positive integer, got ${stepsPerEnv}`);
    }
    this.stepsPerEnv = stepsPerEnv;
    if (stepsPerEnv * this.envs > this.rollout.values.length) {
      this.rollout = allocateRollout(stepsPerEnv * this.envs, this.obsSize, this.actSize);
    }
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
   * Continues a run from a saved state. The env must already be back in the state it was saved in, by
   * whatever means suits it (a physics env replays its action log; a model env loads its own state): the
   * observations the next rollout starts from come from `state`, not from the env. A state saved before
   * observations were kept needs `rawObservations`, the env's current observations.
   */
  resume(state: PpoState, rawObservations?: Float32Array): void {
    const observations = state.observations ?? rawObservations;
    if (observations === undefined) {
      throw new Error("Ppo.resume: the state holds no observations; pass the env's current observations");
    }
    if (observations.length !== this.currentRaw.length) {
      throw new Error(
        `Ppo.resume: ${observations.length} observation values, expected ${this.envs} envs x ${this.obsSize}`,
      );
    }
    this.steps = state.steps;
    this.modelSteps = state.modelSteps ?? 0;
    this.updates = state.updates;
    this.skippedInARow = state.skippedInARow ?? 0;
    this.setRolloutLength(state.stepsPerEnv ?? this.config.stepsPerEnv);
    this.rng.setState(state.rng);
    copyStats(RunningMeanStd.fromJSON(state.observationStats), this.observationStats);
    copyStats(RunningMeanStd.fromJSON(state.rewardStats), this.rewardStats);
    this.discountedReturns.set(state.discountedReturns);
    this.recentReturns.splice(0, Infinity, ...state.recentReturns);
    this.recentLengths.splice(0, Infinity, ...state.recentLengths);
    this.syncObservationBuffers();
    this.currentRaw.set(observations);
    this.policy.normalizeObservations(this.currentRaw, this.currentObs);
    this.started = true;
  }

  state(): PpoState {
    return {
      steps: this.steps,
      modelSteps: this.modelSteps,
      updates: this.updates,
      stepsPerEnv: this.stepsPerEnv,
      skippedInARow: this.skippedInARow,
      observations: Array.from(this.currentRaw),
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
    const r = this.used();
    const { advantages, returns } = computeGae(
      {
        steps: this.stepsPerEnv,
        envs: this.envs,
        rewards: r.rewards,
        values: r.values,
        terminated: r.terminated,
        truncated: r.truncated,
        truncatedValues: r.truncatedValues,
        lastValues: this.lastValues,
        gamma: c.gamma,
        lambda: c.lambda,
      },
      { advantages: r.advantages, returns: r.returns },
    );
    const stats = this.optimise(r, advantages, returns);
    const t2 = performance.now();
    this.updates++;
    return {
      update: this.updates,
      steps: this.steps,
      modelSteps: this.modelSteps,
      episodes,
      meanReturn: meanOrNull(this.recentReturns),
      meanLength: meanOrNull(this.recentLengths),
      ...stats,
      explainedVariance: explainedVariance(r.values, returns),
      learningRate: lr,
      rolloutSeconds: (t1 - t0) / 1000,
      optimiseSeconds: (t2 - t1) / 1000,
    };
  }

  /** The rollout buffers cut to the current T x N. */
  private used(): RolloutBuffers {
    return sliceRollout(this.rollout, this.stepsPerEnv * this.envs, this.obsSize, this.actSize);
  }

  /** Step 1: T steps of every env, storing what the update needs. Returns the episodes that ended. */
  private collectRollout(): number {
    const { envs, obsSize, actSize } = this;
    const { temperature } = this.config;
    const r = this.used();
    const envActions = new Float32Array(envs * actSize);
    const input = new Tensor(this.currentObs, [envs, obsSize]);
    let episodes = 0;
    for (let t = 0; t < this.stepsPerEnv; t++) {
      const row = t * envs;
      r.obs.set(this.currentObs, row * obsSize);
      noGrad(() =>
        tidy(() => {
          const dist = this.policy.distribution(input, temperature);
          r.values.set(this.policy.value(input).data, row);
          const sampled = r.actions.subarray(row * actSize, (row + envs) * actSize);
          if (dist instanceof Categorical) {
            const chosen = dist.sample(this.rng);
            sampled.set(chosen);
            r.logProbs.set(dist.logProb(chosen).data, row);
            envActions.set(chosen);
          } else {
            dist.sample(this.rng, sampled);
            r.logProbs.set(dist.logProb(new Tensor(sampled, [envs, actSize])).data, row);
            // The env gets the clipped action; the log-probability is the unclipped sample's.
            clipToBox(this.env.actionSpace, sampled, envActions);
          }
        }),
      );
      const result = this.env.step(envActions);
      if (this.env.imagined === true) this.modelSteps += envs;
      else this.steps += envs;
      for (let i = 0; i < envs; i++) {
        const k = row + i;
        const ended = result.terminated[i]! || result.truncated[i]!;
        r.terminated[k] = result.terminated[i]!;
        r.truncated[k] = result.truncated[i]!;
        r.rewards[k] = this.scaleReward(i, result.rewards[i]!, ended);
        if (ended) {
          episodes++;
          pushRecent(this.recentReturns, result.episodeReturns[i]!);
          pushRecent(this.recentLengths, result.episodeLengths[i]!);
        }
        r.truncatedValues[k] = 0;
      }
      this.bootstrapTruncated(r, result.truncated, result.terminated, result.finalObservations, row);
      this.observe(result.observations);
    }
    noGrad(() => tidy(() => this.lastValues.set(this.policy.value(input).data)));
    return episodes;
  }

  /**
   * V(final observation) for every copy whose episode the time limit cut at this step, in one forward pass
   * (in a model env every copy truncates at the horizon together). A copy that also terminated needs none.
   */
  private bootstrapTruncated(
    r: RolloutBuffers,
    truncated: Uint8Array,
    terminated: Uint8Array,
    finalObservations: Float32Array,
    row: number,
  ): void {
    const { obsSize } = this;
    let count = 0;
    for (let i = 0; i < this.envs; i++) {
      if (!truncated[i] || terminated[i]) continue;
      this.truncatedCopies[count] = i;
      this.finalObs.set(finalObservations.subarray(i * obsSize, (i + 1) * obsSize), count * obsSize);
      count++;
    }
    if (count === 0) return;
    const finals = this.finalObs.subarray(0, count * obsSize);
    this.policy.normalizeObservations(finals, finals);
    noGrad(() =>
      tidy(() => {
        const values = this.policy.value(new Tensor(finals, [count, obsSize])).data;
        for (let j = 0; j < count; j++) r.truncatedValues[row + this.truncatedCopies[j]!] = values[j]!;
      }),
    );
  }

  /** Folds raw observations into the running statistics and writes their normalised form as current. */
  private observe(raw: Float32Array): void {
    this.currentRaw.set(raw);
    if (this.updatesObservationStats()) {
      this.observationStats.update(raw, this.envs);
      this.syncObservationBuffers();
    }
    this.policy.normalizeObservations(raw, this.currentObs);
  }

  /** Frozen statistics leave the policy's normaliser as it is (another trainer may own it). */
  private updatesObservationStats(): boolean {
    return this.config.normalizeObservations && !this.config.freezeObservationStats;
  }

  private syncObservationBuffers(): void {
    if (!this.updatesObservationStats()) return;
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
    r: RolloutBuffers,
    advantages: Float32Array,
    returns: Float32Array,
  ): Pick<
    PpoUpdateMetrics,
    'policyLoss' | 'valueLoss' | 'entropy' | 'approxKl' | 'clipFraction' | 'epochs' | 'skippedSteps'
  > {
    const c = this.config;
    const { obsSize, actSize } = this;
    const size = this.stepsPerEnv * this.envs;
    const order = new Int32Array(size);
    for (let i = 0; i < size; i++) order[i] = i;
    const mb = Math.min(c.minibatchSize, size);
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
    let skipped = 0;
    let epochsRun = 0;
    let stop = false;
    for (let epoch = 0; epoch < c.epochs && !stop; epoch++) {
      this.rng.shuffle(order);
      epochsRun++;
      for (let start = 0; start < size; start += mb) {
        const m = Math.min(mb, size - start);
        for (let j = 0; j < m; j++) {
          const k = order[start + j]!;
          mbObs.set(r.obs.subarray(k * obsSize, (k + 1) * obsSize), j * obsSize);
          mbActions.set(r.actions.subarray(k * actSize, (k + 1) * actSize), j * actSize);
          mbIndices[j] = r.actions[k * actSize]!;
          mbLogProbs[j] = r.logProbs[k]!;
          mbAdvantages[j] = advantages[k]!;
          mbReturns[j] = returns[k]!;
          mbValues[j] = r.values[k]!;
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
        if (step === 'skipped') {
          skipped++;
          continue;
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
      skippedSteps: skipped,
    };
  }

  /**
   * One gradient step on one minibatch; null (and no step) when the approximate KL already exceeds
   * 1.5 x targetKl, Stable-Baselines3's early stop; 'skipped' (and no step) when the gradient norm is not
   * finite, which stops the run with an error after `maxSkippedSteps` in a row.
   */
  private minibatchStep(
    obs: Tensor,
    actions: Int32Array | Tensor,
    oldLogProbs: Float32Array,
    advantages: Float32Array,
    returns: Float32Array,
    oldValues: Float32Array,
    params: Tensor[],
  ):
    | {
        policyLoss: number;
        valueLoss: number;
        entropy: number;
        approxKl: number;
        clipFraction: number;
      }
    | null
    | 'skipped' {
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
    const norm = clipGradNorm(params, c.maxGradNorm);
    if (!Number.isFinite(norm)) {
      this.skippedInARow++;
      if (this.skippedInARow >= c.maxSkippedSteps) {
        throw new Error(
          `Ppo: ${this.skippedInARow} gradient steps in a row had a non-finite gradient norm (${norm}) at ` +
            `update ${this.updates + 1}; stopping (maxSkippedSteps = ${c.maxSkippedSteps}). The last loss ` +
            `was ${loss.item()} (policy ${policyLoss.item()}, value ${valueLossMean.item()}).`,
        );
      }
      return 'skipped';
    }
    this.skippedInARow = 0;
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

/**
 * Whole updates at the configured rollout length: never more real steps than `totalSteps` (at least one
 * update). A caller that changes the length with `setRolloutLength` drives the updates itself.
 */
export function plannedUpdates(
  config: Pick<PpoConfig, 'totalSteps' | 'stepsPerEnv'>,
  numEnvs: number,
): number {
  return Math.max(1, Math.floor(config.totalSteps / (numEnvs * config.stepsPerEnv)));
}

/** The rollout, time-major [T, N, ...], plus GAE's outputs, so an update allocates none of them. */
interface RolloutBuffers {
  obs: Float32Array;
  actions: Float32Array;
  logProbs: Float32Array;
  values: Float32Array;
  rewards: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  truncatedValues: Float32Array;
  advantages: Float32Array;
  returns: Float32Array;
}

function allocateRollout(size: number, obsSize: number, actSize: number): RolloutBuffers {
  return {
    obs: new Float32Array(size * obsSize),
    actions: new Float32Array(size * actSize),
    logProbs: new Float32Array(size),
    values: new Float32Array(size),
    rewards: new Float32Array(size),
    terminated: new Uint8Array(size),
    truncated: new Uint8Array(size),
    truncatedValues: new Float32Array(size),
    advantages: new Float32Array(size),
    returns: new Float32Array(size),
  };
}

/** Views of the first `size` entries (rows of T x N) of every buffer. */
function sliceRollout(r: RolloutBuffers, size: number, obsSize: number, actSize: number): RolloutBuffers {
  return {
    obs: r.obs.subarray(0, size * obsSize),
    actions: r.actions.subarray(0, size * actSize),
    logProbs: r.logProbs.subarray(0, size),
    values: r.values.subarray(0, size),
    rewards: r.rewards.subarray(0, size),
    terminated: r.terminated.subarray(0, size),
    truncated: r.truncated.subarray(0, size),
    truncatedValues: r.truncatedValues.subarray(0, size),
    advantages: r.advantages.subarray(0, size),
    returns: r.returns.subarray(0, size),
  };
}

/** A policy passed in must fit the env and agree with the config on observation normalisation. */
function checkPolicyFits(policy: ActorCritic, env: RlVectorEnv, config: PpoConfig): void {
  if (policy.observationSize !== env.observationSize) {
    throw new Error(
      `Ppo: the policy takes ${policy.observationSize} observation values, the env gives ${env.observationSize}`,
    );
  }
  const space = env.actionSpace;
  const fits = isDiscrete(space)
    ? policy.discrete && policy.actionOutputs === space.n
    : !policy.discrete && policy.actionOutputs === actionSize(space);
  if (!fits) {
    throw new Error(
      `Ppo: the policy's action space ${JSON.stringify(policy.actionSpace)} does not fit the env's ` +
        JSON.stringify(space),
    );
  }
  if (policy.normalizesObservations !== config.normalizeObservations) {
    throw new Error(
      `Ppo: normalizeObservations = ${config.normalizeObservations} but the policy passed in was built ` +
        `with ${policy.normalizesObservations}`,
    );
  }
}

/** An optimiser passed in must hold exactly the policy's parameters, or some would never learn. */
function checkOptimizerFits(optimizer: Optimizer, policy: ActorCritic): void {
  const params = policy.parameters();
  const held = new Set(optimizer.params);
  if (params.length !== optimizer.params.length || !params.every((p) => held.has(p))) {
    throw new Error(
      `Ppo: the optimizer holds ${optimizer.params.length} parameters that are not exactly the policy's ` +
        `${params.length}`,
    );
  }
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
