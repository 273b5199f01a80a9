// The CEM planner (issue 13): discrete CEM against exhaustive enumeration on random small problems, the
// continuous Gaussian search, the warm start, config errors; the model evaluator's returns, particles,
// policy prior and terminal value on a model with known predictions.
import { describe, expect, it } from 'vitest';
import { ActorCritic } from '../src/rl/actor-critic.ts';
import { CemPlanner, type PlanEvaluator, type PlanStart } from '../src/rl/cem.ts';
import { resolveCemConfig } from '../src/rl/cem-config.ts';
import { ModelPlanEvaluator } from '../src/rl/model-plan-evaluator.ts';
import { enumeratePlans } from '../src/rl/plan-enumeration.ts';
import type { RlActionSpace } from '../src/rl/vector-env.ts';
import type { DynamicsPrediction } from '../src/rl/world-model/dynamics-model.ts';
import { EnsembleModel } from '../src/rl/world-model/ensemble-model.ts';
import { OBSERVATION_SIZE, STATE_DIMS } from '../src/rl/world-model/lander-layout.ts';
import { ModelVectorEnv } from '../src/rl/world-model/model-vector-env.ts';
import { Rng } from '../src/rng/index.ts';
import { Tensor } from '../src/tensor/index.ts';
import { KnownModel } from './helpers/known-model.ts';

/** A random deterministic problem: S states, n actions, a random next state and reward per (state, action). */
class RandomProblem implements PlanEvaluator {
  readonly actionSpace: RlActionSpace;
  readonly hasPrior = false;
  readonly next: Int32Array;
  readonly reward: Float32Array;

  constructor(
    readonly states: number,
    readonly n: number,
    seed: number,
  ) {
    this.actionSpace = { n };
    const rng = new Rng(seed);
    this.next = Int32Array.from({ length: states * n }, () => rng.integer(0, states));
    this.reward = Float32Array.from({ length: states * n }, () => rng.uniform(-1, 1));
  }

  evaluate(
    _start: PlanStart,
    actions: Float32Array,
    count: number,
    horizon: number,
    _prior: number,
    returns: Float32Array,
  ): void {
    for (let c = 0; c < count; c++) {
      let s = 0;
      let total = 0;
      for (let t = 0; t < horizon; t++) {
        const a = actions[c * horizon + t]!;
        total += this.reward[s * this.n + a]!;
        s = this.next[s * this.n + a]!;
      }
      returns[c] = total;
    }
  }
}

/**
 * A random point mass with the lander's four actions (none, push left, push up, push right) and gravity: a
 * random start, position and velocity, and a random goal; each step costs the distance to the goal and
 * 0.03 per push.
 */
class PointMassProblem implements PlanEvaluator {
  readonly actionSpace: RlActionSpace = { n: 4 };
  readonly hasPrior = false;
  readonly start: number[];
  readonly goal: number[];
  evaluations = 0;

  constructor(seed: number) {
    const rng = new Rng(seed);
    this.start = [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2)];
    this.goal = [rng.uniform(-1, 1), rng.uniform(-1, 1)];
  }

  evaluate(
    _start: PlanStart,
    actions: Float32Array,
    count: number,
    horizon: number,
    _prior: number,
    returns: Float32Array,
  ): void {
    for (let c = 0; c < count; c++) {
      let [x, y, vx, vy] = this.start as [number, number, number, number];
      let total = 0;
      for (let t = 0; t < horizon; t++) {
        const a = actions[c * horizon + t]!;
        if (a === 1) vx -= 0.1;
        else if (a === 3) vx += 0.1;
        else if (a === 2) vy += 0.15;
        vy -= 0.05;
        x += vx;
        y += vy;
        total -= Math.hypot(x - this.goal[0]!, y - this.goal[1]!) + (a === 0 ? 0 : 0.03);
      }
      returns[c] = total;
    }
    this.evaluations += count;
  }
}

/** Continuous: the return is -sum_t |a_t - target_t|^2 over a 2-d box [-1, 1]^2. */
class QuadraticProblem implements PlanEvaluator {
  readonly actionSpace: RlActionSpace = { shape: [2], low: [-1, -1], high: [1, 1] };
  readonly hasPrior = false;
  firstCandidates: Float32Array | null = null;

  constructor(readonly target: Float32Array) {}

  evaluate(
    _start: PlanStart,
    actions: Float32Array,
    count: number,
    horizon: number,
    _prior: number,
    returns: Float32Array,
  ): void {
    if (!this.firstCandidates) this.firstCandidates = actions.slice(0, count * horizon * 2);
    for (let c = 0; c < count; c++) {
      let total = 0;
      for (let i = 0; i < horizon * 2; i++) total -= (actions[c * horizon * 2 + i]! - this.target[i]!) ** 2;
      returns[c] = total;
    }
  }
}

const start: PlanStart = { observation: new Float32Array(OBSERVATION_SIZE) };

describe('CemPlanner', () => {
  it('finds the enumerated optimum within 1% on random small discrete problems, scoring half the plans', () => {
    const horizon = 5;
    const gaps: number[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const problem = new PointMassProblem(seed);
      const optimum = enumeratePlans(problem, start, horizon, 256);
      expect(optimum.plans).toBe(4 ** horizon);
      problem.evaluations = 0;
      const planner = new CemPlanner(problem, {
        horizon,
        population: 64,
        elites: 8,
        keepElites: 2,
        iterations: 8,
        smoothing: 0.7,
        seed,
      });
      const found = planner.plan(start);
      expect(problem.evaluations).toBe(512);
      gaps.push((optimum.bestReturn - found.plannedReturn) / Math.abs(optimum.bestReturn));
      // The carried-out action is the first of a plan that really scores what the planner says.
      const check = new Float32Array(1);
      problem.evaluate(start, found.bestPlan, 1, horizon, 0, check);
      expect(check[0]).toBeCloseTo(found.plannedReturn, 5);
      expect(found.action[0]).toBe(found.bestPlan[0]);
    }
    // Measured: all 20 within 1% (largest gap 0.8%, mean 0.04%).
    expect(gaps.reduce((a, b) => a + b, 0) / gaps.length).toBeLessThanOrEqual(0.01);
    expect(gaps.filter((g) => g <= 0.01).length).toBeGreaterThanOrEqual(18);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(0);
  });

  it('puts its discrete distribution on the elites: after the search the optimum plan is the most likely', () => {
    const problem = new RandomProblem(5, 3, 42);
    const optimum = enumeratePlans(problem, start, 4, 81);
    const planner = new CemPlanner(problem, {
      horizon: 4,
      population: 60,
      elites: 5,
      iterations: 6,
      choose: 'mean',
      seed: 2,
    });
    const found = planner.plan(start);
    expect(found.action[0]).toBe(optimum.bestPlan[0]);
    for (let t = 0; t < 4; t++) {
      const p = planner.stepDistribution(t);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(p.indexOf(Math.max(...p))).toBe(optimum.bestPlan[t]);
    }
  });

  it('searches a box with a Gaussian: clipped candidates, the refit mean near the optimum', () => {
    const horizon = 4;
    const target = Float32Array.from({ length: horizon * 2 }, (_, i) => [0.6, -0.3, 0.9, 0.2][i % 4]!);
    const problem = new QuadraticProblem(target);
    const planner = new CemPlanner(problem, {
      horizon,
      population: 100,
      elites: 10,
      iterations: 8,
      choose: 'mean',
      seed: 3,
    });
    const found = planner.plan(start);
    expect(found.action[0]).toBeCloseTo(0.6, 1);
    expect(found.action[1]).toBeCloseTo(-0.3, 1);
    expect(found.plannedReturn).toBeGreaterThan(-0.05);
    for (const a of problem.firstCandidates!) expect(Math.abs(a)).toBeLessThanOrEqual(1);
    expect(problem.firstCandidates!.some((a) => Math.abs(a) === 1)).toBe(true);
  });

  it('warm-starts from the last plan shifted one step, and starts fresh after reset', () => {
    const horizon = 3;
    // The best plan is (1, 2, 3); after one search the next search's first candidates follow (2, 3, -).
    const target = Float32Array.from([0.5, 0.5, -0.5, -0.5, 0.8, 0.8]);
    const problem = new QuadraticProblem(target);
    const config = {
      horizon,
      population: 200,
      elites: 20,
      iterations: 6,
      warmStart: 1,
      smoothing: 0,
      seed: 4,
    };
    const planner = new CemPlanner(problem, config);
    planner.plan(start);
    problem.firstCandidates = null;
    planner.plan(start);
    const mean = (j: number) => {
      const c = problem.firstCandidates!;
      let sum = 0;
      for (let k = 0; k < config.population; k++) sum += c[k * horizon * 2 + j]!;
      return sum / config.population;
    };
    // Clipping to the box pulls a sampled mean a little towards the middle.
    expect(Math.abs(mean(0) + 0.5)).toBeLessThan(0.1);
    expect(Math.abs(mean(2) - 0.8)).toBeLessThan(0.15);
    planner.reset();
    problem.firstCandidates = null;
    planner.plan(start);
    expect(Math.abs(mean(0))).toBeLessThan(0.1);
  });

  it('refuses bad settings, naming the value', () => {
    expect(() => resolveCemConfig({ horizon: 0 })).toThrow(/horizon = 0 .*positive integer/);
    expect(() => resolveCemConfig({ elites: 70, population: 64 })).toThrow(/elites = 70 .*population = 64/);
    expect(() => resolveCemConfig({ particleMode: 'ts-2' as never })).toThrow(/particleMode = "ts-2"/);
    expect(() => resolveCemConfig({ bogus: 1 } as never)).toThrow(/unknown option 'bogus'/);
    expect(() => new CemPlanner(new RandomProblem(3, 2, 1), { priorShare: 0.5 })).toThrow(/policy prior/);
    expect(() => enumeratePlans(new RandomProblem(3, 4, 1), start, 12, 10)).toThrow(/4\^12 = 16777216 plans/);
  });
});

describe('EnsembleModel.predictAssigned', () => {
  it("equals predict on every row's own member, at a fraction of the rows through the network", () => {
    const model = new EnsembleModel({ n: 4 }, { members: 4, elites: 4, hiddenSizes: [16, 16], seed: 2 });
    const rows = 11;
    const rng = new Rng(3);
    const observations = Float32Array.from({ length: rows * OBSERVATION_SIZE }, () => rng.uniform(-1, 1));
    const actions = Float32Array.from({ length: rows }, () => rng.integer(0, 4));
    const members = Int32Array.from({ length: rows }, (_, i) => (i * 3) % 4);
    const full = model.predict(observations, actions, rows, null);
    const copy = (p: typeof full) => ({
      delta: p.delta.slice(),
      deltaStd: p.deltaStd!.slice(),
      contactProb: p.contactProb.slice(),
      reward: p.reward.slice(),
      outcomeProb: p.outcomeProb.slice(),
    });
    const expected = copy(full);
    const own = copy(model.predictAssigned(observations, actions, rows, members));
    for (let i = 0; i < rows; i++) {
      const at = members[i]! * rows + i;
      for (let j = 0; j < STATE_DIMS; j++) {
        expect(own.delta[at * STATE_DIMS + j]).toBeCloseTo(expected.delta[at * STATE_DIMS + j]!, 5);
        expect(own.deltaStd[at * STATE_DIMS + j]).toBeCloseTo(expected.deltaStd[at * STATE_DIMS + j]!, 5);
      }
      expect(own.reward[at]).toBeCloseTo(expected.reward[at]!, 5);
      for (let k = 0; k < 3; k++)
        expect(own.outcomeProb[at * 3 + k]).toBeCloseTo(expected.outcomeProb[at * 3 + k]!, 5);
      for (let k = 0; k < 2; k++)
        expect(own.contactProb[at * 2 + k]).toBeCloseTo(expected.contactProb[at * 2 + k]!, 5);
    }
    expect(() =>
      model.predictAssigned(
        observations,
        actions,
        rows,
        members.map(() => 4),
      ),
    ).toThrow(/members\[0\] = 4; expected 0..3/);
  });
});

describe('ModelPlanEvaluator', () => {
  const landerStart: PlanStart = { observation: Float32Array.from([0, 1, 0, 0, 0, 0, 0, 0]) };
  const base = {
    particles: 3,
    particleMode: 'ts-inf' as const,
    gamma: 0.9,
    lambdaUncertainty: 0,
    lambdaFamiliarity: 0,
    terminalValue: false,
    env: { reward: 'predicted' as const, restRule: 'model' as const, outOfBoundsCrash: false },
    seed: 1,
  };

  it('scores each candidate by its discounted return, the mean of its particles, in one batch', () => {
    const evaluator = new ModelPlanEvaluator({ ...base, model: new KnownModel(3), population: 4 });
    // Candidates: all main engine (reward -0.3 each step), none, main on the first step only.
    const actions = Float32Array.from([2, 2, 2, 0, 0, 0, 2, 0, 0]);
    const returns = new Float32Array(3);
    evaluator.evaluate(landerStart, actions, 3, 3, 0, returns);
    expect(returns[0]).toBeCloseTo(-0.3 * (1 + 0.9 + 0.81), 5);
    expect(returns[1]).toBeCloseTo(0, 5);
    expect(returns[2]).toBeCloseTo(-0.3, 5);
  });

  it('stops a crashed copy counting: a certain crash scores -100 whatever follows', () => {
    const evaluator = new ModelPlanEvaluator({ ...base, model: new KnownModel(2, 1), population: 2 });
    const returns = new Float32Array(2);
    evaluator.evaluate(landerStart, Float32Array.from([2, 2, 2, 2, 0, 0, 0, 0]), 2, 4, 0, returns);
    expect(Array.from(returns)).toEqual([-100, -100]);
  });

  it('keeps elite i mod E on copy i (TS-inf): with particles a multiple of E every candidate meets every elite', () => {
    const model = new KnownModel(3);
    const evaluator = new ModelPlanEvaluator({ ...base, model, population: 2, particles: 3 });
    const env = (
      evaluator as unknown as { env: { step: (a: Float32Array) => { observations: Float32Array } } }
    ).env;
    const returns = new Float32Array(2);
    evaluator.evaluate(landerStart, new Float32Array(2 * 5), 2, 5, 0, returns);
    // After five steps copy i sits at x = 5 * 0.01 * (member + 1), member = i mod 3.
    const x = env.step(new Float32Array(6)).observations;
    for (let i = 0; i < 6; i++) expect(x[i * OBSERVATION_SIZE]).toBeCloseTo(6 * 0.01 * ((i % 3) + 1), 5);
  });

  it('lets a policy prior pick its candidates as they roll, and adds the discounted critic value at the horizon', () => {
    const policy = new ActorCritic({
      observationSize: OBSERVATION_SIZE,
      actionSpace: { n: 4 },
      hiddenSizes: [8],
      initialLogStd: 0,
      normalizeObservations: false,
      rng: new Rng(5),
    });
    const model = new KnownModel(2);
    const withValue = new ModelPlanEvaluator({
      ...base,
      model,
      population: 3,
      particles: 2,
      policy,
      terminalValue: true,
    });
    const without = new ModelPlanEvaluator({ ...base, model, population: 3, particles: 2, policy });
    const actions = new Float32Array(3 * 4).fill(-1);
    actions.fill(0, 4);
    const a = new Float32Array(3);
    const b = new Float32Array(3);
    withValue.evaluate(landerStart, actions, 3, 4, 1, a);
    const prior = actions.slice(0, 4);
    for (const action of prior) expect([0, 1, 2, 3]).toContain(action);
    without.evaluate(landerStart, actions, 3, 4, 0, b);
    // Candidate 1 (never fires) ends at x = 4 * 0.01 * (m + 1), y = 1 - 0.08; its value is the critic's there.
    const finals = new Float32Array(2 * OBSERVATION_SIZE);
    for (let m = 0; m < 2; m++) finals.set([0.04 * (m + 1), 0.92, 0, 0, 0, 0, 0, 0], m * OBSERVATION_SIZE);
    const values = policy.value(new Tensor(finals, [2, OBSERVATION_SIZE])).data;
    // Two particles over two elites: particle p keeps elite p, so candidate 1 meets members 0 and 1.
    const expected = (0.9 ** 4 * (values[0]! + values[1]!)) / 2;
    expect(a[1]! - b[1]!).toBeCloseTo(expected, 4);
    expect(() => new ModelPlanEvaluator({ ...base, model, population: 2, terminalValue: true })).toThrow(
      /terminalValue needs a policy/,
    );
  });
});

describe('ModelPlanEvaluator and the model env, further', () => {
  const landerStart: PlanStart = { observation: Float32Array.from([0, 1, 0, 0, 0, 0, 0, 0]) };
  const base = {
    particles: 1,
    particleMode: 'ts-inf' as const,
    gamma: 1,
    lambdaUncertainty: 0,
    lambdaFamiliarity: 0,
    terminalValue: false,
    env: { reward: 'predicted' as const, restRule: 'model' as const, outOfBoundsCrash: false },
    seed: 1,
  };

  /** Action 2 drives y up by 2 a step (out of the box at y > 2.5) and pays 10 a step; others pay 1. */
  class Climbing extends KnownModel {
    override predict(obs: Float32Array, actions: ArrayLike<number>, rows: number): DynamicsPrediction {
      const p = super.predict(obs, actions, rows);
      for (let m = 0; m < this.members; m++) {
        for (let i = 0; i < rows; i++) {
          const at = m * rows + i;
          p.delta[at * STATE_DIMS + 1] = actions[i] === 2 ? 2 : 0;
          p.reward[at] = actions[i] === 2 ? 10 : 1;
        }
      }
      return p;
    }
  }

  it('ends a plan whose model leaves the observation box there, not scoring the restarted copy', () => {
    const evaluator = new ModelPlanEvaluator({ ...base, model: new Climbing(1), population: 2 });
    const returns = new Float32Array(2);
    // Climbing leaves the box on its first step (y 1 -> 3): 10, then nothing; staying pays 1 for 5 steps.
    evaluator.evaluate(landerStart, Float32Array.from([2, 2, 2, 2, 2, 0, 0, 0, 0, 0]), 2, 5, 0, returns);
    expect(Array.from(returns)).toEqual([10, 5]);
  });

  it('shuffles an even share of the elites over the copies when particles are not a multiple of them', () => {
    const model = new KnownModel(3);
    const evaluator = new ModelPlanEvaluator({ ...base, model, population: 12, particles: 1, env: {} });
    const members = (evaluator as unknown as { members: Int32Array }).members;
    const seen: string[] = [];
    for (let call = 0; call < 3; call++) {
      evaluator.evaluate(landerStart, new Float32Array(12), 12, 1, 0, new Float32Array(12));
      const counts = [0, 0, 0];
      for (const m of members) counts[m]!++;
      expect(counts).toEqual([4, 4, 4]);
      seen.push(members.join(','));
    }
    expect(new Set(seen).size).toBeGreaterThan(1);
    expect(() => new ModelPlanEvaluator({ ...base, model, population: 2, particles: 0 })).toThrow(
      /particles = 0 is invalid; expected a positive integer/,
    );
  });

  it("predicts each copy by its own member only when members are fixed, exactly as the whole ensemble's forward", () => {
    const model = new EnsembleModel({ n: 4 }, { members: 3, elites: 3, hiddenSizes: [16], seed: 4 });
    const rng = new Rng(6);
    const starts = Float32Array.from({ length: 5 * OBSERVATION_SIZE }, (_, k) =>
      k % OBSERVATION_SIZE < 6 ? rng.uniform(-0.5, 0.5) : 0,
    );
    const make = (lambdaUncertainty: number) =>
      new ModelVectorEnv(
        model,
        { startStates: starts, startOrder: 'sequential' },
        { numEnvs: 5, horizon: 20, memberChoice: 'fixed', lambdaUncertainty, seed: 2 },
      );
    // lambda 0 takes the own-member path; a vanishing lambda the whole forward, with the same draws.
    const fast = make(0);
    const slow = make(1e-30);
    fast.reset(2);
    slow.reset(2);
    for (let t = 0; t < 6; t++) {
      const actions = Float32Array.from({ length: 5 }, (_, i) => (i + t) % 4);
      const a = fast.step(actions);
      const b = slow.step(actions);
      for (let k = 0; k < a.observations.length; k++)
        expect(a.observations[k]).toBeCloseTo(b.observations[k]!, 5);
      for (let i = 0; i < 5; i++) expect(a.rewards[i]).toBeCloseTo(b.rewards[i]!, 4);
      expect(Array.from(a.terminated)).toEqual(Array.from(b.terminated));
    }
  });
});
