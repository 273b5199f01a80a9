/**
 * The planner's model side for the lander (cem.ts's PlanEvaluator): every candidate plan rolled in the
 * learned model as `particles` copies of one `ModelVectorEnv`, so each imagined step of the whole population
 * is one batched forward pass, with the model env's own rules (Gymnasium's reward on the imagined states,
 * the crash and landing outcomes, the disagreement and autoencoder penalties). A candidate's return is the
 * mean over its particles of sum_t gamma^t r_t, plus gamma^H V(s_H) from a critic where the copy still flies.
 */
import { noGrad, Rng, Tensor, tidy } from '../tensor/index.ts';
import type { ActorCritic } from './actor-critic.ts';
import type { PlanEvaluator, PlanStart } from './cem.ts';
import type { ParticleMode } from './cem-config.ts';
import { exploringActions } from './explore.ts';
import { actionSize, type RlActionSpace } from './vector-env.ts';
import type { DynamicsModel } from './world-model/dynamics-model.ts';
import { OBSERVATION_SIZE } from './world-model/lander-layout.ts';
import type { ModelEnvConfig } from './world-model/model-env-config.ts';
import { type FamiliarityScorer, ModelVectorEnv } from './world-model/model-vector-env.ts';

export interface ModelPlanEvaluatorOptions {
  model: DynamicsModel;
  /** Candidates scored per call at most (the planner's population). */
  population: number;
  particles: number;
  particleMode: ParticleMode;
  gamma: number;
  /** Weights of the disagreement and autoencoder penalties on planned steps (0: off). */
  lambdaUncertainty: number;
  lambdaFamiliarity: number;
  /** The autoencoder's scorer; needed when lambdaFamiliarity > 0. */
  familiarity?: FamiliarityScorer;
  /** A policy for prior candidates and, with `terminalValue`, its critic for the value at the horizon. */
  policy?: ActorCritic;
  terminalValue: boolean;
  /** The model env's other rules (restRule and its tolerances, sampling), as the run trained with them. */
  env?: Partial<ModelEnvConfig>;
  seed: number;
}

export class ModelPlanEvaluator implements PlanEvaluator {
  readonly actionSpace: RlActionSpace;
  readonly hasPrior: boolean;
  private readonly env: ModelVectorEnv;
  private readonly model: DynamicsModel;
  private readonly particles: number;
  private readonly gamma: number;
  private readonly policy: ActorCritic | null;
  private readonly terminalValue: boolean;
  private readonly rng: Rng;
  private readonly members: Int32Array;
  private readonly starts: Float32Array;
  private readonly stillSteps: Int32Array;
  private readonly stepActions: Float32Array;
  private readonly sums: Float64Array;
  private readonly done: Uint8Array;

  constructor(options: ModelPlanEvaluatorOptions) {
    const { model, population, particles } = options;
    const checks: [string, boolean, string][] = [
      ['population', Number.isSafeInteger(population) && population > 0, 'a positive integer'],
      ['particles', Number.isSafeInteger(particles) && particles > 0, 'a positive integer'],
      ['gamma', options.gamma > 0 && options.gamma <= 1, 'a number in (0, 1]'],
    ];
    for (const [name, ok, expected] of checks) {
      const value = options[name as keyof ModelPlanEvaluatorOptions];
      if (!ok)
        throw new Error(`ModelPlanEvaluator: ${name} = ${String(value)} is invalid; expected ${expected}`);
    }
    if (options.terminalValue && !options.policy) {
      throw new Error('ModelPlanEvaluator: terminalValue needs a policy with a critic');
    }
    const copies = population * particles;
    this.env = new ModelVectorEnv(
      model,
      { startStates: new Float32Array(OBSERVATION_SIZE), familiarity: options.familiarity },
      {
        ...options.env,
        numEnvs: copies,
        // Never truncated inside a plan: the planner decides its length.
        horizon: Number.MAX_SAFE_INTEGER,
        disagreementLimit: Number.POSITIVE_INFINITY,
        memberChoice: options.particleMode === 'ts-inf' ? 'fixed' : 'random',
        lambdaUncertainty: options.lambdaUncertainty,
        lambdaFamiliarity: options.lambdaFamiliarity,
        seed: options.seed,
      },
    );
    this.actionSpace = this.env.actionSpace;
    this.particles = particles;
    this.gamma = options.gamma;
    this.policy = options.policy ?? null;
    this.hasPrior = this.policy !== null;
    this.terminalValue = options.terminalValue;
    this.rng = new Rng(options.seed + 1);
    this.model = model;
    this.members = new Int32Array(copies);
    this.starts = new Float32Array(copies * OBSERVATION_SIZE);
    this.stillSteps = new Int32Array(copies);
    this.stepActions = new Float32Array(copies * actionSize(this.actionSpace));
    this.sums = new Float64Array(copies);
    this.done = new Uint8Array(copies);
  }

  evaluate(
    start: PlanStart,
    actions: Float32Array,
    count: number,
    horizon: number,
    priorCount: number,
    returns: Float32Array,
  ): void {
    const P = this.particles;
    const copies = count * P;
    const W = actionSize(this.actionSpace);
    if (copies > this.env.numEnvs) {
      throw new Error(`ModelPlanEvaluator.evaluate: ${count} candidates; at most ${this.env.numEnvs / P}`);
    }
    if (priorCount > 0 && !this.policy)
      throw new Error('ModelPlanEvaluator.evaluate: no policy for prior candidates');
    const n = this.env.numEnvs;
    this.assignMembers();
    for (let i = 0; i < n; i++) this.starts.set(start.observation, i * OBSERVATION_SIZE);
    this.stillSteps.fill(start.stillSteps ?? 0);
    let observations = this.env.resetTo(this.starts, this.members, this.stillSteps).observations;
    this.sums.fill(0);
    this.done.fill(0);
    const priorObservations = new Float32Array(priorCount * OBSERVATION_SIZE);
    const priorActions = new Float32Array(priorCount * W);
    let discount = 1;
    for (let t = 0; t < horizon; t++) {
      if (priorCount > 0) {
        // The prior's candidates act as the policy would on the imagined state of their first particle
        // still flying (an ended copy has been restarted elsewhere).
        for (let c = 0; c < priorCount; c++) {
          let p = 0;
          while (p < P - 1 && this.done[c * P + p]) p++;
          const copy = c * P + p;
          priorObservations.set(
            observations.subarray(copy * OBSERVATION_SIZE, (copy + 1) * OBSERVATION_SIZE),
            c * OBSERVATION_SIZE,
          );
        }
        exploringActions(this.policy!, priorObservations, 1, this.rng, priorActions);
        for (let c = 0; c < priorCount; c++) {
          for (let j = 0; j < W; j++) actions[(c * horizon + t) * W + j] = priorActions[c * W + j]!;
        }
      }
      // Copies past `count` repeat candidate 0's actions; their results are not read.
      for (let i = 0; i < n; i++) {
        const c = i < copies ? Math.floor(i / P) : 0;
        for (let j = 0; j < W; j++) this.stepActions[i * W + j] = actions[(c * horizon + t) * W + j]!;
      }
      const step = this.env.step(this.stepActions);
      for (let i = 0; i < copies; i++) {
        if (this.done[i]) continue;
        this.sums[i]! += discount * step.rewards[i]!;
        // A crash or landing ends the copy; so does a truncation (the model left the observation box):
        // the env restarts such a copy from the start state, whose rewards are not this plan's.
        if (step.terminated[i] || step.truncated[i]) this.done[i] = 1;
      }
      observations = step.observations;
      discount *= this.gamma;
    }
    if (this.terminalValue) this.addTerminalValues(observations, copies, discount);
    for (let c = 0; c < count; c++) {
      let total = 0;
      for (let p = 0; p < P; p++) total += this.sums[c * P + p]!;
      returns[c] = total / P;
    }
  }

  /**
   * TS-inf's members: with particles a multiple of the E elites, particle p of every candidate keeps elite
   * p mod E (each candidate meets every elite); otherwise an even share of the elites shuffled over all
   * copies on every call, so no candidate slot is always scored by the same member. Every elite then
   * carries about the same number of copies, which keeps `predictAssigned` batches balanced.
   */
  private assignMembers(): void {
    const elites = this.model.elites;
    const E = elites.length;
    const P = this.particles;
    const n = this.members.length;
    if (P % E === 0) {
      for (let i = 0; i < n; i++) this.members[i] = elites[(i % P) % E]!;
      return;
    }
    for (let i = 0; i < n; i++) this.members[i] = elites[i % E]!;
    for (let i = n - 1; i > 0; i--) {
      const j = this.rng.integer(0, i + 1);
      const swap = this.members[i]!;
      this.members[i] = this.members[j]!;
      this.members[j] = swap;
    }
  }

  /** gamma^H V(s_H) for every copy still flying at the horizon, one batched critic pass. */
  private addTerminalValues(observations: Float32Array, copies: number, discount: number): void {
    const policy = this.policy!;
    const raw = observations.subarray(0, copies * OBSERVATION_SIZE);
    const normalized = policy.normalizeObservations(raw, new Float32Array(raw.length));
    noGrad(() =>
      tidy(() => {
        const values = policy.value(new Tensor(normalized, [copies, OBSERVATION_SIZE])).data;
        for (let i = 0; i < copies; i++) if (!this.done[i]) this.sums[i]! += discount * values[i]!;
      }),
    );
  }
}
