/**
 * `ModelVectorEnv`: a learned model of the lander behind the vector-env contract (vector-env.ts), so PPO
 * trains in it exactly as in the real env. Its steps are `imagined`, counted apart from real ones.
 *
 * Each step, for N copies at once:
 *   1. one forward pass of the whole model predicts every member's next-state change, contacts, reward
 *      and outcome for all copies;
 *   2. each copy takes one elite member's prediction (drawn every step, or once per rollout), drawing the
 *      change from its Gaussian, the outcome from its calibrated probabilities;
 *   3. the reward is Gymnasium's rule applied to the imagined states (or the model's predicted reward), or
 *      -100 / +100 on a crash / landing, minus the MOPO-style penalties
 *      (Yu et al. 2020): lambdaUncertainty x the members' disagreement, lambdaFamiliarity x the autoencoder's
 *      unfamiliarity score (Boney et al. 2019);
 *   4. a copy ends when the outcome is terminal, truncates at the horizon H, when the disagreement passes
 *      its limit or when the model takes its state out of Gymnasium's observation box, and starts again from a state drawn from its start set: real states from the replay buffer
 *      (branched rollouts, MBPO, Janner et al. 2019) or real initial states.
 * Every draw comes from the env's own generator, and `state()` holds all that changes besides the model's
 * weights, so a run resumes without replaying anything.
 */
import { Rng } from '../../tensor/index.ts';
import { checkActions, type RlActionSpace, type RlVectorEnv, type RlVectorStep } from '../vector-env.ts';
import type { DynamicsModel } from './dynamics-model.ts';
import type { FamiliarityModel } from './familiarity-model.ts';
import {
  CONTACT_DIMS,
  CONTINUE,
  CRASH,
  OBSERVATION_SIZE,
  OUTCOMES,
  type Outcome,
  REST,
  rawActionSize,
  STATE_DIMS,
  STATE_HIGH,
  STATE_LOW,
  TERMINAL_REWARD,
} from './lander-layout.ts';
import { shapingReward } from './lander-reward.ts';
import { type ModelEnvConfig, resolveModelEnvConfig } from './model-env-config.ts';
import { engineFires, standsStill, supportedStillSteps } from './sleep-rule.ts';
import type { StartHistory } from './start-states.ts';

/**
 * Scores how unfamiliar (state, action) rows are, relative to real data: 1 is as unfamiliar as the reference
 * quantile of held-out real rows (a FamiliarityModel's `relativeScore`, p95 by default), so a score above 1
 * is rarer than 95% of what the model was fitted on. The env penalises only the excess: max(0, score - 1).
 */
export interface FamiliarityScorer {
  score(observations: Float32Array, actions: ArrayLike<number>, rows: number): Float32Array;
}

/** A familiarity model's relative score as the env's scorer, into one reused buffer. */
export function familiarityScorer(model: FamiliarityModel): FamiliarityScorer {
  let out = new Float32Array(0);
  return {
    score: (observations, actions, rows) => {
      if (out.length !== rows) out = new Float32Array(rows);
      return model.relativeScore(observations, actions, rows, out);
    },
  };
}

/** One step's results, beyond the contract's: what the penalties took and why copies ended. */
export interface ModelVectorStep extends RlVectorStep {
  /** [N] the reward before penalties. */
  rawRewards: Float32Array;
  /** [N] the members' disagreement on this step (0 for a single model). */
  disagreement: Float32Array;
  /** [N] the relative familiarity score (0 without a scorer); the penalty is on its excess over 1. */
  unfamiliarity: Float32Array;
  /** [N] 1 where the copy was truncated because its disagreement passed the limit. */
  truncatedByDisagreement: Uint8Array;
}

/** Totals since the env was made (or restored): every penalty and every way a copy ended. */
export interface ModelEnvCounters {
  steps: number;
  uncertaintyPenalty: number;
  familiarityPenalty: number;
  crashes: number;
  landings: number;
  outOfBounds: number;
  truncatedByHorizon: number;
  truncatedByDisagreement: number;
  /** Copies truncated because the model took their state out of Gymnasium's observation box. */
  leftObservationBox: number;
}

/** Everything that changes as the env steps, as plain JSON (the model's weights are saved apart). */
export interface ModelEnvState {
  rng: number[];
  horizon: number;
  observations: number[];
  memory: number[];
  members: number[];
  lengths: number[];
  returns: number[];
  /** Per copy, imagined steps in a row it has stood still (the sleep rule); absent in older states. */
  stillSteps?: number[];
  counters: ModelEnvCounters;
  /** For a model with memory: each copy's last imagined steps (observations, actions, how many). */
  recent?: { observations: number[]; actions: number[]; counts: number[] };
}

export interface ModelVectorEnvOptions {
  /** Rows of 8-number observations episodes start from (buffer states, or real initial states). */
  startStates: Float32Array;
  /**
   * For a model with memory (gru) starting mid-episode: per start row, the real steps that led to it
   * (start-states.ts `branchStarts`), which warm the memory. Without it memory starts at zeros, right only
   * for starts at an episode's first observation.
   */
  startHistory?: StartHistory;
  /**
   * Per start row, the real steps in a row the lander had already stood still before it (sleep-rule.ts
   * `stillStepsBefore`), where the sleep rule's count starts; zeros when absent.
   */
  startStillSteps?: Int32Array;
  /** The autoencoder that scores unfamiliar (state, action) rows, for the familiarity penalty. */
  familiarity?: FamiliarityScorer;
  /**
   * How a copy picks its start state: 'random' (the default) draws a row of startStates each time it
   * starts; 'sequential' starts (and restarts) copy i from row i mod the rows, so copy i of an evaluation
   * begins exactly where real episode i did (the model report's policy evaluation).
   */
  startOrder?: 'random' | 'sequential';
}

export class ModelVectorEnv implements RlVectorEnv {
  readonly imagined = true;
  readonly numEnvs: number;
  readonly observationSize = OBSERVATION_SIZE;
  readonly actionSpace: RlActionSpace;
  readonly config: ModelEnvConfig;
  counters: ModelEnvCounters = emptyCounters();

  private rng: Rng;
  private horizonSteps: number;
  private readonly startStates: Float32Array;
  private readonly startCount: number;
  private readonly startOrder: 'random' | 'sequential';
  private readonly familiarity: FamiliarityScorer | null;
  private readonly startHistory: StartHistory | null;
  private readonly startStillSteps: Int32Array | null;
  /** Copies started since their memory was last warmed, and the start row each took. */
  private readonly pendingWarm: Int32Array;
  private pendingCount = 0;
  private readonly startRows: Int32Array;
  /** A memory model's last `rewarmWindow` imagined steps per copy, right-aligned: [N, K, 8], [N, K, A], [N]. */
  private readonly recent: StartHistory;
  private readonly rewarmCopies: Int32Array;
  private readonly observations: Float32Array;
  private readonly memory: Float32Array | null;
  private readonly members: Int32Array;
  private readonly lengths: Int32Array;
  private readonly stillSteps: Int32Array;
  /** The still run from which a quiet step counts toward rest: none shorter than free fall can make. */
  private readonly supportedRun: number;
  private readonly returns: Float64Array;
  private readonly out: ModelVectorStep;

  constructor(
    readonly model: DynamicsModel,
    options: ModelVectorEnvOptions,
    overrides: Partial<ModelEnvConfig> = {},
  ) {
    this.config = resolveModelEnvConfig(overrides);
    this.supportedRun = supportedStillSteps(this.config);
    const n = this.config.numEnvs;
    this.numEnvs = n;
    const space = model.actionSpace;
    this.actionSpace =
      'n' in space
        ? { n: space.n }
        : { shape: [space.size], low: new Array(space.size).fill(-1), high: new Array(space.size).fill(1) };
    if (options.startStates.length === 0 || options.startStates.length % OBSERVATION_SIZE !== 0) {
      throw new Error(
        `ModelVectorEnv: startStates holds ${options.startStates.length} numbers; expected a positive multiple of ${OBSERVATION_SIZE}`,
      );
    }
    this.startStates = options.startStates;
    this.startHistory = options.startHistory ?? null;
    const history = this.startHistory;
    if (history) {
      const S = options.startStates.length / OBSERVATION_SIZE;
      const A = rawActionSize(model.actionSpace);
      if (
        history.counts.length !== S ||
        history.observations.length !== S * history.k * OBSERVATION_SIZE ||
        history.actions.length !== S * history.k * A
      ) {
        throw new Error(
          `ModelVectorEnv: startHistory does not fit ${S} start rows of ${history.k} steps ` +
            `(${history.counts.length} counts, ${history.observations.length} observation and ${history.actions.length} action numbers)`,
        );
      }
      if (model.memorySize > 0 && !model.warmMemory) {
        throw new Error(
          `ModelVectorEnv: a '${model.kind}' model has memory but no warmMemory for startHistory`,
        );
      }
    }
    this.startCount = options.startStates.length / OBSERVATION_SIZE;
    this.startStillSteps = options.startStillSteps ?? null;
    if (this.startStillSteps && this.startStillSteps.length !== this.startCount) {
      throw new Error(
        `ModelVectorEnv: startStillSteps holds ${this.startStillSteps.length} counts for ${this.startCount} start rows`,
      );
    }
    this.startOrder = options.startOrder ?? 'random';
    this.familiarity = options.familiarity ?? null;
    // The default weight applies only with a scorer; one asked for explicitly without a scorer is a mistake.
    if ((overrides.lambdaFamiliarity ?? 0) > 0 && !this.familiarity) {
      throw new Error(
        'ModelVectorEnv: lambdaFamiliarity > 0 needs a familiarity scorer (options.familiarity)',
      );
    }
    this.rng = new Rng(envSeed(this.config.seed));
    this.pendingWarm = new Int32Array(n);
    this.startRows = new Int32Array(n);
    const K = model.memorySize > 0 && this.config.rewarmEvery > 0 ? this.config.rewarmWindow : 0;
    if (K > 0 && !model.warmMemory) {
      throw new Error(
        `ModelVectorEnv: a '${model.kind}' model has memory but no warmMemory to rebuild it (rewarmEvery)`,
      );
    }
    this.recent = {
      k: K,
      observations: new Float32Array(n * K * OBSERVATION_SIZE),
      actions: new Float32Array(n * K * rawActionSize(model.actionSpace)),
      counts: new Int32Array(n),
    };
    this.rewarmCopies = new Int32Array(n);
    this.horizonSteps = this.config.horizon;
    this.observations = new Float32Array(n * OBSERVATION_SIZE);
    this.memory = model.memorySize > 0 ? new Float32Array(n * model.memorySize) : null;
    this.members = new Int32Array(n);
    this.lengths = new Int32Array(n);
    this.stillSteps = new Int32Array(n);
    this.returns = new Float64Array(n);
    this.out = {
      observations: new Float32Array(n * OBSERVATION_SIZE),
      rewards: new Float32Array(n),
      terminated: new Uint8Array(n),
      truncated: new Uint8Array(n),
      finalObservations: new Float32Array(n * OBSERVATION_SIZE),
      episodeReturns: new Float64Array(n),
      episodeLengths: new Int32Array(n),
      rawRewards: new Float32Array(n),
      disagreement: new Float32Array(n),
      unfamiliarity: new Float32Array(n),
      truncatedByDisagreement: new Uint8Array(n),
    };
  }

  /** The horizon H in use. */
  get horizon(): number {
    return this.horizonSteps;
  }

  /** Changes H from the next step on (copies already past it truncate at their next step). */
  setHorizon(horizon: number): void {
    if (!Number.isSafeInteger(horizon) || horizon < 1) {
      throw new Error(`ModelVectorEnv.setHorizon: expected a positive integer, got ${horizon}`);
    }
    this.horizonSteps = horizon;
  }

  reset(seed?: number): { observations: Float32Array } {
    if (seed !== undefined) this.rng = new Rng(envSeed(seed));
    for (let i = 0; i < this.numEnvs; i++) this.startCopy(i);
    this.warmStartedCopies();
    this.out.observations.set(this.observations);
    return { observations: this.out.observations };
  }

  /**
   * Starts every copy from given states instead of drawn ones, for a planner that rolls its candidates from
   * where the real lander is: copy i from row i of `observations` [N, 8], with member `members[i]` (an
   * elite) and `stillSteps[i]` steps of stillness behind it (zeros when absent). Memoryless models only: a
   * memory would start at zeros, not where the real episode left it.
   */
  resetTo(
    observations: Float32Array,
    members: ArrayLike<number>,
    stillSteps?: ArrayLike<number>,
  ): { observations: Float32Array } {
    const n = this.numEnvs;
    if (this.memory) {
      throw new Error(
        `ModelVectorEnv.resetTo: a '${this.model.kind}' model has memory; expected a memoryless one`,
      );
    }
    if (observations.length !== n * OBSERVATION_SIZE || members.length !== n) {
      throw new Error(
        `ModelVectorEnv.resetTo: ${observations.length} observation numbers and ${members.length} members for ${n} copies; expected ${n * OBSERVATION_SIZE} and ${n}`,
      );
    }
    if (stillSteps && stillSteps.length !== n) {
      throw new Error(`ModelVectorEnv.resetTo: ${stillSteps.length} still counts for ${n} copies`);
    }
    const elites = this.model.elites;
    for (let i = 0; i < n; i++) {
      if (!elites.includes(members[i]!)) {
        throw new Error(
          `ModelVectorEnv.resetTo: members[${i}] = ${members[i]} is not an elite (${elites.join(', ')})`,
        );
      }
    }
    this.observations.set(observations);
    this.members.set(members);
    this.lengths.fill(0);
    this.returns.fill(0);
    this.stillSteps.set(stillSteps ?? new Int32Array(n));
    this.out.observations.set(this.observations);
    return { observations: this.out.observations };
  }

  step(actions: ArrayLike<number>): ModelVectorStep {
    const n = this.numEnvs;
    checkActions('ModelVectorEnv.step', this.actionSpace, n, actions);
    const c = this.config;
    // With members kept per rollout and no disagreement to measure, each copy needs only its own member.
    const ownMemberOnly =
      c.memberChoice === 'fixed' &&
      c.lambdaUncertainty === 0 &&
      !Number.isFinite(c.disagreementLimit) &&
      this.model.predictAssigned !== undefined;
    const pred = ownMemberOnly
      ? this.model.predictAssigned!(this.observations, actions, n, this.members)
      : this.model.predict(this.observations, actions, n, this.memory);
    const unfamiliar = this.familiarity ? this.familiarity.score(this.observations, actions, n) : null;
    const elites = this.model.elites;
    const o = this.out;
    const K = OUTCOMES.length;
    const rows = pred.rows;
    const discrete = 'n' in this.model.actionSpace;
    const actionWidth = rawActionSize(this.model.actionSpace);
    let rewarm = 0;
    for (let i = 0; i < n; i++) {
      const m = c.memberChoice === 'random' ? elites[this.rng.integer(0, elites.length)]! : this.members[i]!;
      const at = m * rows + i;
      const base = i * OBSERVATION_SIZE;
      // The next state: the current one plus the member's (drawn) change; contacts from their probability.
      let leftBox = false;
      for (let j = 0; j < STATE_DIMS; j++) {
        let change = pred.delta[at * STATE_DIMS + j]!;
        if (c.sampleNoise && pred.deltaStd) change += pred.deltaStd[at * STATE_DIMS + j]! * this.rng.normal();
        const current = this.observations[base + j]!;
        const next = current + change;
        // A step that takes a state out of Gymnasium's box (or to not a number) is the model diverging:
        // clip it and end the copy. A real start already outside (the box is not guaranteed for y) goes on.
        const wasInside = current >= STATE_LOW[j]! && current <= STATE_HIGH[j]!;
        const inside = Number.isNaN(next)
          ? current
          : wasInside
            ? Math.min(STATE_HIGH[j]!, Math.max(STATE_LOW[j]!, next))
            : next;
        if (inside !== next) leftBox = true;
        o.finalObservations[base + j] = inside;
      }
      for (let j = 0; j < CONTACT_DIMS; j++) {
        const p = pred.contactProb[at * CONTACT_DIMS + j]!;
        o.finalObservations[base + STATE_DIMS + j] = (c.sampleContacts ? this.rng.uniform() < p : p > 0.5)
          ? 1
          : 0;
      }
      // The outcome, and with it the reward.
      let outcome: Outcome = CONTINUE;
      if (c.sampleOutcome) {
        const u = this.rng.uniform();
        let acc = 0;
        for (let k = 0; k < K; k++) {
          acc += pred.outcomeProb[at * K + k]!;
          if (u < acc) {
            outcome = k as Outcome;
            break;
          }
        }
      } else {
        let best = 0;
        for (let k = 1; k < K; k++)
          if (pred.outcomeProb[at * K + k]! > pred.outcomeProb[at * K + best]!) best = k;
        outcome = best as Outcome;
      }
      if (c.restRule !== 'model') {
        if (outcome === REST) outcome = CONTINUE;
        const quiet =
          standsStill(o.finalObservations, base, c) && !engineFires(discrete, actions, i * actionWidth);
        this.stillSteps[i] = quiet ? this.stillSteps[i]! + 1 : 0;
        // Only a run of still steps that free fall cannot make counts (the top of a hop is still for 2).
        const run = this.stillSteps[i]!;
        const asleep =
          c.restRule === 'sleep'
            ? run >= Math.max(c.sleepSteps, this.supportedRun)
            : run >= this.supportedRun && this.rng.uniform() < 1 / c.sleepSteps;
        if (outcome === CONTINUE && asleep) outcome = REST;
      }
      const outOfBounds = c.outOfBoundsCrash && Math.abs(o.finalObservations[base]!) >= 1;
      if (outOfBounds) outcome = CRASH;
      let reward: number;
      if (c.reward === 'shaping') {
        reward = shapingReward(
          this.observations,
          base,
          o.finalObservations,
          base,
          discrete,
          actions,
          i * actionWidth,
        );
      } else {
        reward = pred.reward[at]!;
        if (c.sampleNoise && pred.rewardStd) reward += pred.rewardStd[at]! * this.rng.normal();
        // No real step pays more than the landing or costs more than the crash.
        reward = Math.min(100, Math.max(-100, Number.isNaN(reward) ? 0 : reward));
      }
      if (outcome !== CONTINUE) reward = TERMINAL_REWARD[outcome]!;
      // Penalties for what the model does not know.
      const disagreement = ownMemberOnly
        ? 0
        : memberDisagreement(pred.delta, pred.members, rows, i, elites, this.model.scalers.delta.std);
      const unfamiliarity = unfamiliar ? unfamiliar[i]! : 0;
      const uncertaintyPenalty = c.lambdaUncertainty * disagreement;
      const familiarityPenalty = c.lambdaFamiliarity * Math.max(0, unfamiliarity - 1);
      o.rawRewards[i] = reward;
      o.rewards[i] = reward - uncertaintyPenalty - familiarityPenalty;
      o.disagreement[i] = disagreement;
      o.unfamiliarity[i] = unfamiliarity;
      this.counters.uncertaintyPenalty += uncertaintyPenalty;
      this.counters.familiarityPenalty += familiarityPenalty;
      this.lengths[i]!++;
      this.returns[i]! += o.rewards[i]!;
      const terminated = outcome !== CONTINUE;
      const byDisagreement = !terminated && disagreement > c.disagreementLimit;
      const byBox = !terminated && !byDisagreement && leftBox;
      const byHorizon = !terminated && !byDisagreement && !byBox && this.lengths[i]! >= this.horizonSteps;
      o.terminated[i] = terminated ? 1 : 0;
      o.truncated[i] = byDisagreement || byBox || byHorizon ? 1 : 0;
      o.truncatedByDisagreement[i] = byDisagreement ? 1 : 0;
      if (outcome === CRASH) this.counters.crashes++;
      if (outcome === REST) this.counters.landings++;
      if (outOfBounds) this.counters.outOfBounds++;
      if (byHorizon) this.counters.truncatedByHorizon++;
      if (byDisagreement) this.counters.truncatedByDisagreement++;
      if (byBox) this.counters.leftObservationBox++;
      if (terminated || byDisagreement || byBox || byHorizon) {
        o.episodeReturns[i] = this.returns[i]!;
        o.episodeLengths[i] = this.lengths[i]!;
        this.startCopy(i);
      } else {
        this.remember(i, actions, actionWidth);
        if (this.recent.observations.length > 0 && this.lengths[i]! % c.rewarmEvery === 0) {
          this.rewarmCopies[rewarm++] = i;
        }
        this.observations.set(o.finalObservations.subarray(base, base + OBSERVATION_SIZE), base);
      }
    }
    this.warmCopies(this.rewarmCopies, rewarm, this.recent, null);
    this.warmStartedCopies();
    this.counters.steps += n;
    o.observations.set(this.observations);
    return o;
  }

  /** Everything that changes as the env steps (the model's weights are saved apart). */
  state(): ModelEnvState {
    return {
      rng: this.rng.getState(),
      horizon: this.horizonSteps,
      observations: Array.from(this.observations),
      memory: this.memory ? Array.from(this.memory) : [],
      members: Array.from(this.members),
      lengths: Array.from(this.lengths),
      stillSteps: Array.from(this.stillSteps),
      returns: Array.from(this.returns),
      counters: { ...this.counters },
      recent:
        this.recent.observations.length > 0
          ? {
              observations: Array.from(this.recent.observations),
              actions: Array.from(this.recent.actions),
              counts: Array.from(this.recent.counts),
            }
          : undefined,
    };
  }

  /** Continues from `state()`, as if the env had never stopped. */
  restoreState(state: ModelEnvState): void {
    const n = this.numEnvs;
    const sizes: [string, number, number][] = [
      ['observations', state.observations.length, n * OBSERVATION_SIZE],
      ['memory', state.memory.length, this.memory ? this.memory.length : 0],
      ['members', state.members.length, n],
      ['lengths', state.lengths.length, n],
      ['returns', state.returns.length, n],
    ];
    for (const [name, got, expected] of sizes) {
      if (got !== expected)
        throw new Error(`ModelVectorEnv.restoreState: ${name} has ${got} numbers, expected ${expected}`);
    }
    this.rng.setState(state.rng);
    this.setHorizon(state.horizon);
    this.observations.set(state.observations);
    this.memory?.set(state.memory);
    this.members.set(state.members);
    this.lengths.set(state.lengths);
    if (state.stillSteps && state.stillSteps.length !== n) {
      throw new Error(
        `ModelVectorEnv.restoreState: stillSteps has ${state.stillSteps.length} numbers, expected ${n}`,
      );
    }
    this.stillSteps.set(state.stillSteps ?? new Array<number>(n).fill(0));
    this.returns.set(state.returns);
    this.counters = { ...emptyCounters(), ...state.counters };
    if (this.recent.observations.length > 0) {
      const recent = state.recent;
      if (
        !recent ||
        recent.observations.length !== this.recent.observations.length ||
        recent.actions.length !== this.recent.actions.length ||
        recent.counts.length !== n
      ) {
        throw new Error(
          "ModelVectorEnv.restoreState: the state lacks the memory model's recent steps (recent)",
        );
      }
      this.recent.observations.set(recent.observations);
      this.recent.actions.set(recent.actions);
      this.recent.counts.set(recent.counts);
    }
    this.out.observations.set(this.observations);
  }

  async close(): Promise<void> {}

  /** Starts copy i from a start state (random, or row i), with a fresh member, memory, length and return. */
  private startCopy(i: number): void {
    const row = this.startOrder === 'sequential' ? i % this.startCount : this.rng.integer(0, this.startCount);
    this.observations.set(
      this.startStates.subarray(row * OBSERVATION_SIZE, (row + 1) * OBSERVATION_SIZE),
      i * OBSERVATION_SIZE,
    );
    const elites = this.model.elites;
    this.members[i] = elites[this.rng.integer(0, elites.length)]!;
    this.lengths[i] = 0;
    this.stillSteps[i] = this.startStillSteps ? this.startStillSteps[row]! : 0;
    this.returns[i] = 0;
    this.recent.counts[i] = 0;
    if (this.memory) {
      this.memory.fill(0, i * this.model.memorySize, (i + 1) * this.model.memorySize);
      if (this.startHistory) {
        this.startRows[i] = row;
        this.pendingWarm[this.pendingCount++] = i;
      }
    }
  }

  /** Appends copy i's step (the observation it stepped from, its action) to its recent steps. */
  private remember(i: number, actions: ArrayLike<number>, actionWidth: number): void {
    const K = this.config.rewarmWindow;
    if (this.recent.observations.length === 0) return;
    const O = OBSERVATION_SIZE;
    const obs = this.recent.observations.subarray(i * K * O, (i + 1) * K * O);
    const act = this.recent.actions.subarray(i * K * actionWidth, (i + 1) * K * actionWidth);
    obs.copyWithin(0, O);
    act.copyWithin(0, actionWidth);
    obs.set(this.observations.subarray(i * O, (i + 1) * O), (K - 1) * O);
    for (let j = 0; j < actionWidth; j++) act[(K - 1) * actionWidth + j] = actions[i * actionWidth + j]!;
    this.recent.counts[i] = Math.min(K, this.recent.counts[i]! + 1);
  }

  /** Warms the memory of the copies started this step on their start rows' histories. */
  private warmStartedCopies(): void {
    const count = this.pendingCount;
    this.pendingCount = 0;
    if (this.startHistory) this.warmCopies(this.pendingWarm, count, this.startHistory, this.startRows);
  }

  /**
   * Rebuilds the memory of `count` copies (`copies[0..count)`) in one call from their rows of `source`: row
   * `rows[copy]`, or the copy's own row when `rows` is null.
   */
  private warmCopies(copies: Int32Array, count: number, source: StartHistory, rows: Int32Array | null): void {
    const memory = this.memory;
    if (count === 0 || !memory || !this.model.warmMemory) return;
    const { k } = source;
    const O = k * OBSERVATION_SIZE;
    const A = k * rawActionSize(this.model.actionSpace);
    const H = this.model.memorySize;
    const observations = new Float32Array(count * O);
    const actions = new Float32Array(count * A);
    const counts = new Int32Array(count);
    for (let j = 0; j < count; j++) {
      const copy = copies[j]!;
      const row = rows ? rows[copy]! : copy;
      observations.set(source.observations.subarray(row * O, (row + 1) * O), j * O);
      actions.set(source.actions.subarray(row * A, (row + 1) * A), j * A);
      counts[j] = source.counts[row]!;
    }
    const warmed = new Float32Array(count * H);
    this.model.warmMemory(observations, actions, count, k, counts, warmed);
    for (let j = 0; j < count; j++) memory.set(warmed.subarray(j * H, (j + 1) * H), copies[j]! * H);
  }
}

/**
 * How much the elites disagree on copy i's next state: the standard deviation of their mean changes, per
 * dimension in units of the change's spread in the training data, averaged over dimensions (0 for one
 * member).
 */
export function memberDisagreement(
  delta: Float32Array,
  members: number,
  rows: number,
  i: number,
  elites: readonly number[],
  spread: Float32Array,
): number {
  const e = elites.length;
  if (members < 2 || e < 2) return 0;
  let total = 0;
  for (let j = 0; j < STATE_DIMS; j++) {
    let sum = 0;
    let sumSq = 0;
    for (const m of elites) {
      const v = delta[(m * rows + i) * STATE_DIMS + j]! / spread[j]!;
      sum += v;
      sumSq += v * v;
    }
    const mean = sum / e;
    total += Math.sqrt(Math.max(0, sumSq / e - mean * mean));
  }
  return total / STATE_DIMS;
}

/**
 * The env's own random stream for a seed: apart from a trainer seeded with the same number (PPO resets its
 * env with its own seed, and their draws must not line up).
 */
function envSeed(seed: number): number {
  return seed + 0x5eed_0000;
}

function emptyCounters(): ModelEnvCounters {
  return {
    steps: 0,
    uncertaintyPenalty: 0,
    familiarityPenalty: 0,
    crashes: 0,
    landings: 0,
    outOfBounds: 0,
    truncatedByHorizon: 0,
    truncatedByDisagreement: 0,
    leftObservationBox: 0,
  };
}
