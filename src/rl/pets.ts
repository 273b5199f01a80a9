/**
 * PETS (Chua et al. 2018, "Deep Reinforcement Learning in a Handful of Trials using Probabilistic Dynamics
 * Models", Algorithm 1): no policy at all; a probabilistic ensemble of the lander and the cross-entropy
 * method planning in it before every real step.
 *
 *   collect initialRealSteps with uniformly random actions, fit the ensemble      (collect, fit)
 *   for each iteration:
 *     1. collect whole real episodes (at least realStepsPerIteration steps), each
 *        action planned by CEM in the current ensemble from the real observation  (plan, collect)
 *     2. refit the ensemble on all the data (warm start, early stop on validation)  (fit)
 *     3. every few iterations, evaluate the planner on real episodes apart           (evaluate)
 *
 * Every real step is counted in `realSteps`; evaluation episodes train nothing and are counted by whoever
 * runs them. Iterations end at episode boundaries and every episode starts from a reset seeded by its
 * number, so `state()` plus the model and buffer resume a run exactly (the last iteration may stop an
 * episode early when the budget runs out).
 */
import { Rng } from '../tensor/index.ts';
import { iterationSeed } from './iteration-seed.ts';
import { cemController, type MpcController } from './mpc-controller.ts';
import { type PetsConfig, petsCemConfig, resolvePetsConfig } from './pets-config.ts';
import { actionSize, isDiscrete, type RlVectorEnv } from './vector-env.ts';
import {
  bufferTransitions,
  EnsembleModel,
  type ModelActionSpace,
  ReplayBuffer,
} from './world-model/index.ts';

/** One line of metrics.jsonl: what one iteration did and measured. */
export interface PetsIterationMetrics {
  iteration: number;
  /** Real env steps so far (all collection, the random first one included). */
  realSteps: number;
  /** Real episodes finished so far, and the mean return of this iteration's finished ones. */
  realEpisodes: number;
  realMeanReturn: number | null;
  /** Mean milliseconds CEM took per real action this iteration (null for the random first collection). */
  planMsPerAction: number | null;
  /** The refit: the validation loss of its best epoch (null when no epoch beat the warm start). */
  modelValidationLoss: number | null;
  modelEpochs: number;
  /** The planner's evaluation on the real env, when this iteration had one (apart from training). */
  evalMeanReturn?: number;
  evalSolvedFraction?: number;
  collectSeconds: number;
  fitSeconds: number;
  evalSeconds: number;
}

/** Everything besides the model and the buffer that a resumed run needs, as plain JSON. */
export interface PetsState {
  iteration: number;
  realSteps: number;
  realEpisodes: number;
  rng: number[];
}

/** An evaluation of a planner on the real env (the caller's: `rl` does not import `env`). */
export type EvaluatePlanner = (controller: MpcController) => { meanReturn: number; solvedFraction: number };

export interface PetsParts {
  model?: EnsembleModel;
  buffer?: ReplayBuffer;
  evaluate?: EvaluatePlanner;
}

/** The first fit starts from random weights, so it gets at least this many epochs (later ones warm-start). */
const FIRST_FIT_EPOCHS = 20;

export class Pets {
  readonly config: PetsConfig;
  readonly model: EnsembleModel;
  readonly buffer: ReplayBuffer;
  iteration = 0;
  realSteps = 0;
  realEpisodes = 0;
  private readonly rng: Rng;
  private readonly evaluate: EvaluatePlanner | null;
  private readonly width: number;

  constructor(
    readonly env: RlVectorEnv,
    overrides: Partial<PetsConfig> = {},
    parts: PetsParts = {},
  ) {
    if (env.imagined)
      throw new Error('Pets: the env to collect from must be a real one, not an imagined one');
    if (env.numEnvs !== 1) throw new Error(`Pets: the real env has ${env.numEnvs} copies; expected 1`);
    if (env.observationSize !== 8) {
      throw new Error(`Pets: observations of ${env.observationSize} numbers; the lander's models expect 8`);
    }
    this.config = resolvePetsConfig(overrides);
    const c = this.config;
    const space = env.actionSpace;
    this.width = actionSize(space);
    const modelSpace: ModelActionSpace = isDiscrete(space) ? { n: space.n } : { size: this.width };
    this.model =
      parts.model ??
      new EnsembleModel(modelSpace, {
        members: c.ensembleMembers,
        elites: c.ensembleElites,
        hiddenSizes: [...c.modelHiddenSizes],
        seed: c.seed,
      });
    this.buffer =
      parts.buffer ??
      new ReplayBuffer({ observationSize: 8, actionSize: this.width, capacity: c.bufferCapacity });
    this.evaluate = parts.evaluate ?? null;
    this.rng = new Rng(c.seed);
  }

  get done(): boolean {
    return this.realSteps >= this.config.totalRealSteps;
  }

  resume(state: PetsState): void {
    this.iteration = state.iteration;
    this.realSteps = state.realSteps;
    this.realEpisodes = state.realEpisodes;
    this.rng.setState(state.rng);
  }

  state(): PetsState {
    return {
      iteration: this.iteration,
      realSteps: this.realSteps,
      realEpisodes: this.realEpisodes,
      rng: this.rng.getState(),
    };
  }

  /** The planner on the model as it is now (its elites included), seeded for this iteration. */
  controller(seed = iterationSeed(this.config.seed, this.iteration)): MpcController {
    return cemController(
      this.model,
      { ...petsCemConfig(this.config), seed },
      { env: { restRule: this.config.restRule } },
    );
  }

  /** The planner an evaluation after the last iteration uses: seeded apart from that iteration's collection. */
  evaluationController(): MpcController {
    return this.controller(iterationSeed(this.config.seed, this.iteration - 1) + 1);
  }

  /** One iteration (steps 1 to 3 of the header; the first collects at random instead of planning). */
  iterate(): PetsIterationMetrics {
    const c = this.config;
    if (this.done) throw new Error(`Pets.iterate: the budget of ${c.totalRealSteps} real steps is spent`);
    const first = this.iteration === 0;
    const seed = iterationSeed(c.seed, this.iteration);
    let t0 = performance.now();

    // 1. Real episodes: random ones first, then each action planned in the model.
    const controller = first ? null : this.controller(seed);
    const returns = this.collect(first ? c.initialRealSteps : c.realStepsPerIteration, controller);
    const collectSeconds = seconds(t0);

    // 2. Refit on everything (warm start).
    t0 = performance.now();
    const split = this.buffer.splitByEpisode(c.validationFraction, c.seed);
    const report = this.model.fit(
      bufferTransitions(this.buffer, split.train),
      bufferTransitions(this.buffer, split.validation),
      {
        maxEpochs: first ? Math.max(c.modelEpochs, FIRST_FIT_EPOCHS) : c.modelEpochs,
        stepsPerEpoch: c.modelStepsPerEpoch,
        patience: c.modelPatience,
        learningRate: c.modelLearningRate,
        minImprovement: 0,
        contactEventWeight: c.modelContactEventWeight,
        seed,
      },
    );
    const fitSeconds = seconds(t0);
    this.iteration++;

    // 3. The planner on the refitted model, on real episodes apart.
    t0 = performance.now();
    let evaluation: { evalMeanReturn?: number; evalSolvedFraction?: number } = {};
    if (this.evaluate && ((c.evalEvery > 0 && this.iteration % c.evalEvery === 0) || this.done)) {
      const result = this.evaluate(this.evaluationController());
      evaluation = { evalMeanReturn: result.meanReturn, evalSolvedFraction: result.solvedFraction };
    }
    const evalSeconds = seconds(t0);
    return {
      iteration: this.iteration,
      realSteps: this.realSteps,
      realEpisodes: this.realEpisodes,
      realMeanReturn: returns.length ? returns.reduce((a, b) => a + b, 0) / returns.length : null,
      planMsPerAction: controller
        ? (controller.planSeconds * 1000) / Math.max(1, controller.plannedActions)
        : null,
      modelValidationLoss: report.epochs.find((e) => e.epoch === report.bestEpoch)?.validation.loss ?? null,
      modelEpochs: report.epochs.length,
      ...evaluation,
      collectSeconds,
      fitSeconds,
      evalSeconds,
    };
  }

  /**
   * Whole episodes until at least `steps` real steps (or the budget) are taken, each from a reset seeded by
   * the episode's number; random actions without a controller. Returns the finished episodes' returns.
   */
  private collect(steps: number, controller: MpcController | null): number[] {
    const c = this.config;
    const target = Math.min(c.totalRealSteps, this.realSteps + steps);
    const returns: number[] = [];
    const action = new Float32Array(this.width);
    while (this.realSteps < target) {
      let observation = this.env.reset(episodeSeed(c.seed, this.realEpisodes)).observations.slice();
      controller?.reset();
      let total = 0;
      for (;;) {
        if (controller) action.set(controller.act(observation));
        else this.randomAction(action);
        const result = this.env.step(action);
        this.buffer.addVectorStep(observation, action, result);
        this.realSteps++;
        total += result.rewards[0]!;
        if (result.terminated[0] || result.truncated[0]) {
          this.realEpisodes++;
          returns.push(total);
          break;
        }
        if (this.realSteps >= c.totalRealSteps) break;
        observation = result.observations.slice();
      }
    }
    return returns;
  }

  private randomAction(out: Float32Array): void {
    const space = this.env.actionSpace;
    if (isDiscrete(space)) out[0] = this.rng.integer(0, space.n);
    else for (let j = 0; j < this.width; j++) out[j] = this.rng.uniform(space.low[j]!, space.high[j]!);
  }
}

/** Episode k's reset seed: apart from the evaluation seeds (1e9 on) and from other runs' first episodes. */
function episodeSeed(seed: number, episode: number): number {
  return (seed * 100_003 + episode) % 1_000_000_000;
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}
