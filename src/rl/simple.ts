/**
 * The model-based agent: PPO trained inside a learned model of the env, SimPLe-style (Kaiser et al. 2020,
 * "Model-Based Reinforcement Learning for Atari", Algorithm 1), with MBPO's branched short rollouts (Janner
 * et al. 2019), MOPO's uncertainty-penalised reward (Yu et al. 2020), an autoencoder's familiarity penalty
 * (Boney et al. 2019) and hyperparameters set from the model's measured error (Zhang, Lambert et al. 2021).
 *
 *   collect initialRealSteps with the untrained policy                     (collect)
 *   for each iteration:
 *     1. collect K real steps with the policy at temperature T, into the buffer    (collect)
 *     2. measure the model PPO last trained in on those new episodes, which
 *        it has never seen; refit it (warm start, early stop on validation)  (measure, refit)
 *     3. from that measurement: H = the longest horizon whose open-loop error
 *        stays under a limit; T falls as disagreement on visited states falls;
 *        the disagreement penalty's weight follows its measured calibration;
 *        PPO's entropy bonus (and, if asked, both penalties) fall as the
 *        exploring real return rises                                        (adapt)
 *     4. PPO on imagined rollouts of H steps branched from buffer states, the
 *        reward minus lambda_u x disagreement minus lambda_f x unfamiliarity,
 *        the value bootstrapping at the horizon (both lambdas 0 on continuous
 *        actions by default: simple-config.ts simpleDefaultsFor)            (imagine)
 *     5. once the exploring return reaches trialFromReturn, run the new policy
 *        greedily on a few real episodes (counted, into the buffer); unless it
 *        scores trialKeepFrom or the old one last scored below trialGuardFrom,
 *        run the one before step 4 on the same episodes and keep the new one
 *        unless it scores more than trialMargin below, else go back      (trial)
 *     6. every few iterations, evaluate the kept greedy policy on the real env (evaluate)
 *
 * Every real step is counted in `realSteps`, including the first collection and the trials; imagined steps
 * are counted apart; evaluation episodes train nothing and are counted by whoever runs them. The trial env
 * is reset from its own seeds for every trial episode, so it needs no action log. The real env is reset once
 * and stepped on across iterations (its episodes run over iteration boundaries), so a run resumes from the
 * env's own restoration (an action-log replay) plus `state()`; everything random is drawn from generators
 * seeded from the config's seed and the iteration, or from the loop's own generator (real collection), which
 * `state()` saves, so a resumed run equals an unbroken one.
 */
import { Adam, type Optimizer, type OptimizerState, type StateDict } from '../nn/index.ts';
import { Rng } from '../tensor/index.ts';
import { ActorCritic } from './actor-critic.ts';
import {
  chooseHorizon,
  explorationTemperature,
  fallWithReturn,
  uncertaintyWeight,
} from './dynamic-hyperparameters.ts';
import { exploringActions } from './explore.ts';
import { iterationSeed } from './iteration-seed.ts';
import { runTrial, type TrialResult, trialSeeds } from './policy-trial.ts';
import { Ppo } from './ppo.ts';
import {
  resolveSimpleConfig,
  type SimpleConfig,
  simplePpoConfig,
  startEntropyCoef,
} from './simple-config.ts';
import { actionSize, isDiscrete, type RlVectorEnv } from './vector-env.ts';
import { type FreshErrors, freshErrors } from './world-model/diagnostics/fresh-errors.ts';
import { defaultWarmSteps } from './world-model/diagnostics/predictions.ts';
import { stateValueStd } from './world-model/diagnostics/transition-errors.ts';
import {
  ArticleModel,
  branchStarts,
  bufferTransitions,
  type DynamicsModel,
  defaultModelEnvConfig,
  EnsembleModel,
  type EpisodeTransitions,
  FamiliarityModel,
  FitThreads,
  familiarityScorer,
  GruModel,
  lastSteps,
  MlpModel,
  type ModelActionSpace,
  ModelVectorEnv,
  ReplayBuffer,
  type StartSet,
  stepsOf,
  stillStepsBefore,
} from './world-model/index.ts';

/** A dynamics model the loop can refit and save. */
export type SimpleModel = MlpModel | EnsembleModel | GruModel | ArticleModel;

/** One line of metrics.jsonl: everything one iteration did and measured. */
export interface SimpleIterationMetrics {
  iteration: number;
  /** Real env steps so far (all collection, the first included, and step 5's trial episodes). */
  realSteps: number;
  /** Imagined steps so far. */
  imaginedSteps: number;
  /** Exploring (collection) episodes finished so far, and the mean return of the last (up to) 20 (not greedy; trial episodes are not among them). */
  realEpisodes: number;
  realMeanReturn: number | null;
  /** The model PPO trained in last iteration, on this iteration's new real episodes (null the first time). */
  fresh: FreshErrors | null;
  /** The refit: the validation loss of its best epoch (null when no epoch beat the warm start, kept then). */
  modelValidationLoss: number | null;
  modelBestEpoch: number;
  modelEpochs: number;
  modelStoppedBecause: string;
  /** The horizon of this iteration's imagined rollouts. */
  horizon: number;
  /** The temperature this iteration collected with, and the one step 3 set for the next collection. */
  temperature: number;
  nextTemperature: number;
  /**
   * The penalty weights in this iteration's rollouts: the disagreement's after its calibration (0 for a single
   * model), and both after the share the exploring return leaves them (`minPenaltyShare`).
   */
  lambdaUncertainty: number;
  lambdaFamiliarity: number;
  /** PPO's entropy bonus in this iteration's imagined rollouts. */
  entropyCoef: number;
  /** Mean penalties per imagined step, and how imagined rollouts ended. */
  uncertaintyPenalty: number;
  familiarityPenalty: number;
  imaginedCrashes: number;
  imaginedLandings: number;
  truncatedByDisagreement: number;
  /** Imagined copies the model took out of Gymnasium's observation box (truncated there). */
  leftObservationBox: number;
  /** Mean over the iteration's PPO updates. */
  ppoUpdates: number;
  policyLoss: number;
  valueLoss: number;
  entropy: number;
  approxKl: number;
  explainedVariance: number;
  /** Mean return of imagined rollouts (H steps, penalised): not comparable with real returns. */
  imaginedMeanReturn: number | null;
  /**
   * Step 5: what became of the new policy ('untried' before trials begin; 'kept'; 'rejected', back to the
   * policy before step 4; 'no budget', the budget ran out during the trial, whose steps are spent, and the
   * policy before step 4 stays: so a run's last iteration with trials on ends this way), the
   * trial means of the new policy and of the one before step 4 on the same seeds (null when it was not tried:
   * the new one reached `trialKeepFrom`, or the old one's last score was below `trialGuardFrom`), and the real
   * steps the trial took (in `realSteps`).
   */
  trialVerdict: TrialVerdict;
  trialReturn: number | null;
  keptTrialReturn: number | null;
  trialSteps: number;
  /** Greedy evaluation on the real env, when this iteration had one (apart from training). */
  evalMeanReturn?: number;
  evalSolvedFraction?: number;
  /** Seconds in each phase. */
  collectSeconds: number;
  fitSeconds: number;
  imagineSeconds: number;
  trialSeconds: number;
  evalSeconds: number;
}

/** Everything besides buffer, models, policy and optimiser that a resumed run needs, as plain JSON. */
export interface SimpleState {
  iteration: number;
  realSteps: number;
  imaginedSteps: number;
  realEpisodes: number;
  horizon: number;
  temperature: number;
  lambdaUncertainty: number;
  firstDisagreement: number | null;
  /** Whether step 5's trials have begun, the real steps of the last trial, and the kept policy's last trial mean. */
  trialsBegun?: boolean;
  lastTrialSteps?: number;
  keptTrialMean?: number | null;
  /** The real copies' current raw observations, and their running episode returns. */
  observations: number[];
  recentReturns: number[];
  rng: number[];
}

/** A greedy evaluation on the real env (the caller's: `rl` does not import `env`). */
export type EvaluatePolicy = (policy: ActorCritic) => { meanReturn: number; solvedFraction: number };

/** Parts to use instead of new ones (a resumed run's, loaded from its checkpoint). */
export interface SimpleParts {
  policy?: ActorCritic;
  optimizer?: Optimizer;
  model?: SimpleModel;
  familiarity?: FamiliarityModel;
  buffer?: ReplayBuffer;
  evaluate?: EvaluatePolicy;
  /** A real env of one copy for the trials of step 5 (needed when `trialEpisodes` > 0). */
  trialEnv?: RlVectorEnv;
}

export type TrialVerdict = 'untried' | 'kept' | 'rejected' | 'no budget';

const RECENT_EPISODES = 20;
/** The first fit starts from random weights, so it gets at least this many epochs (later ones warm-start). */
const FIRST_FIT_EPOCHS = 20;
const FRESH_TRAJECTORIES = 256;

export class Simple {
  readonly config: SimpleConfig;
  readonly policy: ActorCritic;
  readonly optimizer: Optimizer;
  readonly model: SimpleModel;
  readonly familiarity: FamiliarityModel | null;
  readonly buffer: ReplayBuffer;
  iteration = 0;
  realSteps = 0;
  imaginedSteps = 0;
  realEpisodes = 0;
  /** The hyperparameters the next iteration starts from (step 3 changes them). */
  horizon: number;
  temperature: number;
  lambdaUncertainty: number;
  private firstDisagreement: number | null = null;
  /** Whether step 5's trials have begun (once begun they go on). */
  private trialsBegun = false;
  private lastTrialSteps = 0;
  /** The kept policy's mean return in its last trial (as the new policy or the old one); null before any. */
  private keptTrialMean: number | null = null;
  private readonly evaluate: EvaluatePolicy | null;
  private readonly trialEnv: RlVectorEnv | null;
  private readonly rng: Rng;
  private readonly space: ModelActionSpace;
  private readonly observations: Float32Array;
  private readonly actions: Float32Array;
  private readonly recentReturns: number[] = [];
  private started = false;
  private threads: FitThreads | null = null;

  constructor(
    readonly env: RlVectorEnv,
    overrides: Partial<SimpleConfig> = {},
    parts: SimpleParts = {},
  ) {
    if (env.imagined)
      throw new Error('Simple: the env to collect from must be a real one, not an imagined one');
    this.config = resolveSimpleConfig(overrides, !isDiscrete(env.actionSpace));
    const c = this.config;
    if (env.numEnvs !== c.realEnvs) {
      throw new Error(
        `Simple: the real env has ${env.numEnvs} copies; the config's realEnvs is ${c.realEnvs}`,
      );
    }
    if (env.observationSize !== 8) {
      throw new Error(`Simple: observations of ${env.observationSize} numbers; the lander's models expect 8`);
    }
    const space = env.actionSpace;
    this.space = 'n' in space ? { n: space.n } : { size: actionSize(space) };
    this.rng = new Rng(c.seed);
    const ppo = simplePpoConfig(c, 1);
    this.policy =
      parts.policy ??
      new ActorCritic({
        observationSize: env.observationSize,
        actionSpace: space,
        hiddenSizes: ppo.hiddenSizes,
        initialLogStd: ppo.initialLogStd,
        normalizeObservations: ppo.normalizeObservations,
        rng: new Rng(c.seed + 0x9e37),
      });
    this.optimizer =
      parts.optimizer ?? new Adam(this.policy.parameters(), { lr: ppo.learningRate, eps: 1e-5 });
    this.model = parts.model ?? makeDynamicsModel(c, this.space);
    if (parts.model && parts.model.kind !== c.model) {
      throw new Error(`Simple: the given model is a '${parts.model.kind}'; the config asks for '${c.model}'`);
    }
    this.familiarity = c.familiarity
      ? (parts.familiarity ?? new FamiliarityModel(this.space, { seed: c.seed }))
      : null;
    this.buffer =
      parts.buffer ??
      new ReplayBuffer({
        observationSize: env.observationSize,
        actionSize: actionSize(space),
        capacity: c.bufferCapacity,
      });
    this.evaluate = parts.evaluate ?? null;
    this.trialEnv = parts.trialEnv ?? null;
    const t = this.trialEnv;
    if (c.trialEpisodes > 0) {
      if (!t) {
        throw new Error(
          `Simple: trialEpisodes = ${c.trialEpisodes} needs a real env of one copy to try policies on (parts.trialEnv)`,
        );
      }
      const actions = (space: RlVectorEnv['actionSpace']) =>
        isDiscrete(space) ? `${space.n} discrete actions` : `actions of ${actionSize(space)} numbers`;
      if (t.observationSize !== env.observationSize || actions(t.actionSpace) !== actions(env.actionSpace)) {
        throw new Error(
          `Simple: the trial env has observations of ${t.observationSize} numbers and ${actions(t.actionSpace)}; the real env ${env.observationSize} and ${actions(env.actionSpace)}`,
        );
      }
      if (t.numEnvs !== 1 || t.imagined) {
        throw new Error(
          `Simple: the trial env must be a real env of 1 copy; got ${t.numEnvs} copies${t.imagined ? ', imagined' : ''}`,
        );
      }
    }
    this.horizon = c.horizon;
    this.temperature = c.temperature;
    this.lambdaUncertainty = c.lambdaUncertainty;
    this.observations = new Float32Array(c.realEnvs * env.observationSize);
    this.actions = new Float32Array(c.realEnvs * actionSize(space));
  }

  /** The run ends when fewer real steps are left than one step of every real copy takes. */
  get done(): boolean {
    return realBudgetSpent(this.config, this.realSteps);
  }

  /** Resets the real env with the run's seed; call once before the first iteration of a fresh run. */
  start(): void {
    this.observations.set(this.env.reset(this.config.seed).observations);
    this.started = true;
  }

  /** Continues from `state()`; the real env must already be back where it was (an action-log replay). */
  resume(state: SimpleState): void {
    if (state.observations.length !== this.observations.length) {
      throw new Error(
        `Simple.resume: ${state.observations.length} observation numbers; expected ${this.observations.length}`,
      );
    }
    this.iteration = state.iteration;
    this.realSteps = state.realSteps;
    this.imaginedSteps = state.imaginedSteps;
    this.realEpisodes = state.realEpisodes;
    this.horizon = state.horizon;
    this.temperature = state.temperature;
    this.lambdaUncertainty = state.lambdaUncertainty;
    this.firstDisagreement = state.firstDisagreement;
    this.trialsBegun = state.trialsBegun ?? false;
    this.lastTrialSteps = state.lastTrialSteps ?? 0;
    this.keptTrialMean = state.keptTrialMean ?? null;
    this.observations.set(state.observations);
    this.recentReturns.splice(0, Infinity, ...state.recentReturns);
    this.rng.setState(state.rng);
    this.started = true;
  }

  state(): SimpleState {
    return {
      iteration: this.iteration,
      realSteps: this.realSteps,
      imaginedSteps: this.imaginedSteps,
      realEpisodes: this.realEpisodes,
      horizon: this.horizon,
      temperature: this.temperature,
      lambdaUncertainty: this.lambdaUncertainty,
      firstDisagreement: this.firstDisagreement,
      trialsBegun: this.trialsBegun,
      lastTrialSteps: this.lastTrialSteps,
      keptTrialMean: this.keptTrialMean,
      observations: Array.from(this.observations),
      recentReturns: [...this.recentReturns],
      rng: this.rng.getState(),
    };
  }

  /** One iteration of the loop (steps 1 to 5 of the header). */
  iterate(): SimpleIterationMetrics {
    if (!this.started) throw new Error('Simple.iterate: call start() (or resume()) first');
    if (this.done)
      throw new Error(`Simple.iterate: the budget of ${this.config.totalRealSteps} real steps is spent`);
    const c = this.config;
    const first = this.iteration === 0;
    const seed = iterationSeed(c.seed, this.iteration);
    let t0 = performance.now();

    // 1. Real steps with the exploring policy.
    const collectTemperature = this.temperature;
    // The last trial's real steps come out of this collection, so an iteration takes about K in all; at least
    // half of K still explores, or a policy whose trial episodes run to the time limit would crowd it out.
    const explore = Math.ceil(c.realStepsPerIteration / 2);
    const newRows = this.collect(
      first ? c.initialRealSteps : Math.max(explore, c.realStepsPerIteration - this.lastTrialSteps),
    );
    const collectSeconds = seconds(t0);

    // 2. The model PPO trained in, on episodes it never saw; then the refit on everything.
    t0 = performance.now();
    const split = this.buffer.splitByEpisode(c.validationFraction, c.seed);
    const train = bufferTransitions(this.buffer, split.train);
    const fresh = first ? null : this.measure(bufferTransitions(this.buffer, newRows), train, seed);
    const fitOptions = {
      maxEpochs: first ? Math.max(c.modelEpochs, FIRST_FIT_EPOCHS) : c.modelEpochs,
      stepsPerEpoch: c.modelStepsPerEpoch,
      patience: c.modelPatience,
      learningRate: c.modelLearningRate,
      // Any better validation loss keeps the refit: a warm start begins near the best, so a relative
      // threshold would throw away what the new data taught.
      minImprovement: 0,
      // Only the feed-forward ensemble and mlp weigh touchdowns; the gru and article models refuse it.
      contactEventWeight: c.model === 'ensemble' || c.model === 'mlp' ? c.modelContactEventWeight : 1,
      seed,
    };
    const validation = bufferTransitions(this.buffer, split.validation);
    // The autoencoder's fit is independent of the ensemble's: on two threads its steps fill the main thread's
    // waits for the helper (which trains the larger share of the members), to the same numbers.
    const familiarityFit = this.familiarity
      ? stepsOf(
          this.familiarity.fitSteps(train, validation, {
            ...fitOptions,
            contactEventWeight: 1,
            seed: seed + 1,
          }),
        )
      : null;
    // On one thread nothing waits, and the autoencoder's steps all run in `finish` below.
    const report =
      this.model instanceof EnsembleModel
        ? this.model.fit(
            train,
            validation,
            { ...fitOptions, whileWaiting: familiarityFit?.step },
            this.fitThreads(),
          )
        : this.model.fit(train, validation, fitOptions);
    familiarityFit?.finish();
    const fitSeconds = seconds(t0);

    // 3. Hyperparameters from the measurement (Lambert et al. 2021); fixed ones when not dynamic.
    const entropyCoef = this.fallingWithReturn(startEntropyCoef(c), c.minEntropyCoef, c.entropyReturns);
    const penaltyShare = this.fallingWithReturn(1, c.minPenaltyShare, c.penaltyReturns);
    if (c.dynamic && fresh) {
      this.horizon = chooseHorizon(fresh.openLoop, c.horizonCandidates, c.horizonErrorLimit, c.horizon);
      if (this.model.members > 1) {
        this.firstDisagreement ??= fresh.meanDisagreement;
        this.temperature = explorationTemperature(
          fresh.meanDisagreement,
          this.firstDisagreement,
          c.temperature,
          c.minTemperature,
        );
        this.lambdaUncertainty = uncertaintyWeight(c.lambdaUncertainty, fresh.calibration);
      }
    }

    // 4. PPO on imagined rollouts branched from real states.
    t0 = performance.now();
    const lambdas = {
      uncertainty: this.model.members > 1 ? this.lambdaUncertainty * penaltyShare : 0,
      familiarity: this.familiarity ? c.lambdaFamiliarity * penaltyShare : 0,
    };
    const kept = this.triesNewPolicies() ? this.snapshot() : null;
    const imagined = this.imagine(seed, entropyCoef, lambdas);
    const imagineSeconds = seconds(t0);

    // 5. The new policy's trial on the real env; the kept policy back if it fails.
    t0 = performance.now();
    const trial = this.trial(seed, kept);
    const trialSeconds = seconds(t0);

    this.iteration++;
    // 6. Evaluation on the real env, apart from training.
    t0 = performance.now();
    let evaluation: { evalMeanReturn?: number; evalSolvedFraction?: number } = {};
    if (this.evaluate && ((c.evalEvery > 0 && this.iteration % c.evalEvery === 0) || this.done)) {
      const result = this.evaluate(this.policy);
      evaluation = { evalMeanReturn: result.meanReturn, evalSolvedFraction: result.solvedFraction };
    }
    const evalSeconds = seconds(t0);
    return {
      iteration: this.iteration,
      realSteps: this.realSteps,
      imaginedSteps: this.imaginedSteps,
      realEpisodes: this.realEpisodes,
      realMeanReturn: this.recentReturn(),
      fresh,
      modelValidationLoss: report.epochs.find((e) => e.epoch === report.bestEpoch)?.validation.loss ?? null,
      modelBestEpoch: report.bestEpoch,
      modelEpochs: report.epochs.length,
      modelStoppedBecause: report.stoppedBecause,
      horizon: this.horizon,
      temperature: collectTemperature,
      nextTemperature: this.temperature,
      lambdaUncertainty: lambdas.uncertainty,
      lambdaFamiliarity: lambdas.familiarity,
      entropyCoef,
      ...imagined,
      ...trial,
      ...evaluation,
      collectSeconds,
      fitSeconds,
      imagineSeconds,
      trialSeconds,
      evalSeconds,
    };
  }

  /**
   * The helper thread of the ensemble's refit and predictions when `threads` is 2 (started on the first fit),
   * else null.
   */
  private fitThreads(): FitThreads | null {
    if (this.config.threads < 2) return null;
    if (!this.threads) {
      this.threads = new FitThreads();
      if (this.model instanceof EnsembleModel) this.model.usePredictThreads(this.threads);
    }
    return this.threads;
  }

  /** Ends the ensemble's helper thread, if one was started (a later iteration starts a new one). */
  async close(): Promise<void> {
    const threads = this.threads;
    this.threads = null;
    try {
      if (threads && this.model instanceof EnsembleModel) this.model.usePredictThreads(null);
    } finally {
      await threads?.close();
    }
  }

  /** `start` falling to `floor` as the exploring return crosses `returns` (step 3); `start` when not dynamic. */
  private fallingWithReturn(start: number, floor: number, returns: readonly number[]): number {
    if (!this.config.dynamic) return start;
    const [low, high] = returns as [number, number];
    return fallWithReturn(this.recentReturn(), start, floor, low, high);
  }

  /** Whether step 5 tries new policies: trials are on and have begun, or the exploring return has reached their start. */
  private triesNewPolicies(): boolean {
    const c = this.config;
    if (c.trialEpisodes === 0) return false;
    const recent = this.recentReturn();
    return this.trialsBegun || (recent !== null && recent >= c.trialFromReturn);
  }

  /** The policy and its optimiser as they are (the kept policy, before step 4 changes them). */
  private snapshot(): PolicySnapshot {
    return { policy: this.policy.stateDict(), optimizer: this.optimizer.stateDict() };
  }

  private restore(snapshot: PolicySnapshot): void {
    this.policy.loadStateDict(snapshot.policy);
    this.optimizer.loadStateDict(snapshot.optimizer);
  }

  /**
   * Step 5: the new policy runs greedy episodes on the real env. One that scores `trialKeepFrom` is kept, and
   * so is one whose kept policy last scored below `trialGuardFrom` (no landing to guard). Otherwise the kept
   * policy (the one before step 4) runs the same episodes, and the new one is kept unless its mean falls more
   * than `trialMargin` below the kept one's. The same seeds make it a paired comparison: the new policy is one
   * iteration away from the kept one, so on the same starts their returns differ far less than two
   * independent trials' would. A trial the budget cuts short keeps the kept policy.
   */
  private trial(seed: number, kept: PolicySnapshot | null): TrialMetrics {
    const c = this.config;
    this.lastTrialSteps = 0;
    if (!kept) {
      return { trialVerdict: 'untried', trialReturn: null, keptTrialReturn: null, trialSteps: 0 };
    }
    this.trialsBegun = true;
    const result = (
      trialVerdict: TrialVerdict,
      trialReturn: number | null,
      keptTrialReturn: number | null,
    ) => ({
      trialVerdict,
      trialReturn,
      keptTrialReturn,
      trialSteps: this.lastTrialSteps,
    });
    const seeds = trialSeeds(seed, c.trialEpisodes);
    const fresh = this.tryPolicy(seeds);
    if (fresh.cut) {
      this.restore(kept);
      return result('no budget', null, null);
    }
    const freshMean = mean(fresh.returns);
    const guarded = freshMean < c.trialKeepFrom && (this.keptTrialMean ?? -Infinity) >= c.trialGuardFrom;
    if (!guarded) {
      this.keptTrialMean = freshMean;
      return result('kept', freshMean, null);
    }
    const newPolicy = this.snapshot();
    this.restore(kept);
    const old = this.tryPolicy(seeds);
    if (old.cut) return result('no budget', freshMean, null);
    const oldMean = mean(old.returns);
    if (freshMean < oldMean - c.trialMargin) {
      this.keptTrialMean = oldMean;
      return result('rejected', freshMean, oldMean);
    }
    this.restore(newPolicy);
    this.keptTrialMean = freshMean;
    return result('kept', freshMean, oldMean);
  }

  /** The current policy's greedy episodes from `seeds`, within the real steps left; every step into the buffer. */
  private tryPolicy(seeds: readonly number[]): TrialResult {
    const c = this.config;
    // The trial env's copy writes its own stream, after those of the collecting copies.
    const stream = c.realEnvs;
    const result = runTrial(
      this.policy,
      this.trialEnv!,
      seeds,
      c.totalRealSteps - this.realSteps,
      (observation, action, step) => this.buffer.addVectorStep(observation, action, step, 1, stream),
      () => this.buffer.cutStream(stream),
    );
    this.realSteps += result.steps;
    this.lastTrialSteps += result.steps;
    return result;
  }

  /** The exploring policy's mean return over its last (up to) 20 real episodes; null before the first ends. */
  private recentReturn(): number | null {
    return this.recentReturns.length ? mean(this.recentReturns) : null;
  }

  /** Step 1: `steps` real steps (rounded down to whole steps of every copy, at least one), into the buffer. */
  private collect(steps: number): Int32Array {
    const c = this.config;
    const n = c.realEnvs;
    const left = c.totalRealSteps - this.realSteps;
    const vectorSteps = Math.max(1, Math.floor(Math.min(steps, left) / n));
    const from = this.buffer.totalAdded;
    for (let s = 0; s < vectorSteps; s++) {
      exploringActions(this.policy, this.observations, this.temperature, this.rng, this.actions);
      const result = this.env.step(this.actions);
      this.buffer.addVectorStep(this.observations, this.actions, result);
      for (let i = 0; i < n; i++) {
        if (result.terminated[i] || result.truncated[i]) {
          this.realEpisodes++;
          this.recentReturns.push(result.episodeReturns[i]!);
          if (this.recentReturns.length > RECENT_EPISODES) this.recentReturns.shift();
        }
      }
      this.observations.set(result.observations);
      this.realSteps += n;
    }
    // The new rows' logical indices (the oldest row is index 0; `totalAdded` counts every row ever added).
    // A collection larger than the buffer keeps only its newest `size` rows.
    const added = Math.min(this.buffer.totalAdded - from, this.buffer.size);
    const start = this.buffer.size - added;
    return Int32Array.from({ length: added }, (_, i) => start + i);
  }

  /** Step 2's measurement: the current model on rows it was not fitted on. */
  private measure(rows: EpisodeTransitions, train: EpisodeTransitions, seed: number): FreshErrors {
    const c = this.config;
    return freshErrors(this.model, rows, {
      horizons: [...new Set([1, ...c.horizonCandidates])].sort((a, b) => a - b),
      valueStd: stateValueStd(train),
      trajectories: FRESH_TRAJECTORIES,
      seed,
    });
  }

  /** Step 4: PPO updates on imagined rollouts of H steps from real start states. */
  private imagine(seed: number, entropyCoef: number, lambdas: { uncertainty: number; familiarity: number }) {
    const c = this.config;
    const H = this.horizon;
    const { starts, stillSteps } = this.startStates(seed);
    const env = new ModelVectorEnv(
      this.model,
      {
        startStates: starts.observations,
        startHistory: this.model.memorySize > 0 ? starts.history : undefined,
        startStillSteps: stillSteps ?? undefined,
        familiarity:
          this.familiarity && lambdas.familiarity > 0 ? familiarityScorer(this.familiarity) : undefined,
      },
      {
        numEnvs: c.modelEnvs,
        horizon: H,
        lambdaUncertainty: lambdas.uncertainty,
        lambdaFamiliarity: lambdas.familiarity,
        disagreementLimit: c.disagreementLimit,
        reward: c.modelReward,
        outOfBoundsCrash: c.outOfBoundsCrash,
        restRule: c.restRule,
        sleepSpeed: c.sleepSpeed,
        sleepSpin: c.sleepSpin,
        sampleNoise: c.modelNoise,
        seed,
      },
    );
    const updates = Math.max(1, Math.ceil(c.imaginedStepsPerIteration / (c.modelEnvs * H)));
    const ppo = new Ppo(env, simplePpoConfig(c, H, updates, seed, entropyCoef), {
      policy: this.policy,
      optimizer: this.optimizer,
    });
    ppo.start();
    const sums = { policyLoss: 0, valueLoss: 0, entropy: 0, approxKl: 0, explainedVariance: 0 };
    let imaginedMeanReturn: number | null = null;
    while (!ppo.done) {
      const m = ppo.update();
      sums.policyLoss += m.policyLoss;
      sums.valueLoss += m.valueLoss;
      sums.entropy += m.entropy;
      sums.approxKl += m.approxKl;
      sums.explainedVariance += m.explainedVariance;
      imaginedMeanReturn = m.meanReturn;
    }
    this.imaginedSteps += ppo.modelSteps;
    const steps = Math.max(1, env.counters.steps);
    return {
      uncertaintyPenalty: env.counters.uncertaintyPenalty / steps,
      familiarityPenalty: env.counters.familiarityPenalty / steps,
      imaginedCrashes: env.counters.crashes,
      imaginedLandings: env.counters.landings,
      truncatedByDisagreement: env.counters.truncatedByDisagreement,
      leftObservationBox: env.counters.leftObservationBox,
      ppoUpdates: ppo.updates,
      policyLoss: sums.policyLoss / ppo.updates,
      valueLoss: sums.valueLoss / ppo.updates,
      entropy: sums.entropy / ppo.updates,
      approxKl: sums.approxKl / ppo.updates,
      explainedVariance: sums.explainedVariance / ppo.updates,
      imaginedMeanReturn,
    };
  }

  /**
   * Where imagined rollouts start: `startStates` real states drawn uniformly from the buffer, each with the
   * real steps that led to it (a recurrent model warms its memory on its last `warmup` of them; the sleep
   * rule counts how long the lander had already stood still), or the real episodes' first observations.
   */
  private startStates(seed: number): { starts: StartSet; stillSteps: Int32Array | null } {
    const c = this.config;
    if (c.starts === 'initial') {
      const steps = new Int32Array(this.buffer.size);
      this.buffer.gather(
        Int32Array.from({ length: this.buffer.size }, (_, i) => i),
        { steps },
      );
      const firstRows = [...steps.keys()].filter((r) => steps[r] === 0);
      const observations = new Float32Array(firstRows.length * 8);
      this.buffer.gather(firstRows, { observations });
      return { starts: { observations }, stillSteps: null };
    }
    const rows = this.buffer.sample(c.startStates, new Rng(seed + 17));
    const warmSteps = Math.max(1, defaultWarmSteps(this.model));
    const sleepSteps = c.restRule === 'sleep' ? defaultModelEnvConfig.sleepSteps : 0;
    // One window long enough for both uses, so memory and still counts describe the same start rows.
    const starts = branchStarts(this.buffer, rows, Math.max(warmSteps, sleepSteps));
    const stillSteps = sleepSteps > 0 ? stillStepsBefore(starts, 'n' in this.space, c) : null;
    const history = starts.history ? lastSteps(starts.history, warmSteps) : undefined;
    return { starts: { observations: starts.observations, history }, stillSteps };
  }
}

interface PolicySnapshot {
  policy: StateDict;
  optimizer: OptimizerState;
}

type TrialMetrics = Pick<
  SimpleIterationMetrics,
  'trialVerdict' | 'trialReturn' | 'keptTrialReturn' | 'trialSteps'
>;

/** Whether a run of `config` that has taken `realSteps` is done: too few left for one step of every copy. */
export function realBudgetSpent(config: SimpleConfig, realSteps: number): boolean {
  return config.totalRealSteps - realSteps < config.realEnvs;
}

/** A new dynamics model of the config's kind and sizes. */
export function makeDynamicsModel(c: SimpleConfig, space: ModelActionSpace): SimpleModel {
  switch (c.model) {
    case 'ensemble':
      return new EnsembleModel(space, {
        members: c.ensembleMembers,
        elites: c.ensembleElites,
        hiddenSizes: [...c.modelHiddenSizes],
        seed: c.seed,
      });
    case 'mlp':
      return new MlpModel(space, { hiddenSizes: [...c.modelHiddenSizes], seed: c.seed });
    case 'gru':
      return new GruModel(space, { seed: c.seed });
    case 'article':
      // The article's own network (3 x 256, ReLU), whatever modelHiddenSizes says.
      return new ArticleModel(space, { seed: c.seed });
  }
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export type { DynamicsModel };
