// The model environment (issue 11): the vector-env contract shared with the real env, truncation at H,
// finalObservations, penalties and their counters, member choice, seeded determinism and resume from its
// own state.
import { describe, expect, it } from 'vitest';
import { LunarLander } from '../src/env/lunar-lander.ts';
import { SyncVectorEnv } from '../src/env/vector.ts';
import type { DynamicsPrediction } from '../src/rl/world-model/dynamics-model.ts';
import { OBSERVATION_SIZE, STATE_DIMS } from '../src/rl/world-model/lander-layout.ts';
import { shapingReward } from '../src/rl/world-model/lander-reward.ts';
import { defaultModelEnvConfig } from '../src/rl/world-model/model-env-config.ts';
import { ModelVectorEnv } from '../src/rl/world-model/model-vector-env.ts';
import { ReplayBuffer } from '../src/rl/world-model/replay-buffer.ts';
import { stillStepsBefore } from '../src/rl/world-model/sleep-rule.ts';
import { branchStarts, lastSteps } from '../src/rl/world-model/start-states.ts';
import { Rng } from '../src/rng/index.ts';
import { KnownModel } from './helpers/known-model.ts';
import { checkVectorEnvContract } from './helpers/vector-env-contract.ts';

/** A model with one number of memory: warming it stores the sum of x over the real steps it ran through. */
class SummingMemoryModel extends KnownModel {
  override readonly memorySize = 1;
  /** The counts of every warmMemory call. */
  calls: number[][] = [];

  warmMemory(
    obs: Float32Array,
    _actions: ArrayLike<number>,
    rows: number,
    k: number,
    counts: ArrayLike<number>,
    memory: Float32Array,
  ): void {
    for (let r = 0; r < rows; r++) {
      let total = 0;
      for (let j = k - counts[r]!; j < k; j++) total += obs[(r * k + j) * OBSERVATION_SIZE]!;
      memory[r] = total;
    }
    this.calls.push(Array.from(counts).slice(0, rows));
  }
}

const starts = Float32Array.from({ length: 3 * OBSERVATION_SIZE }, (_, k) =>
  k % OBSERVATION_SIZE === 1 ? 1.2 : 0,
);

/** A lander standing still on both legs whatever it does; its head says "at rest" with probability `rest`. */
class StandingModel extends KnownModel {
  constructor(private readonly rest: number) {
    super(1);
  }

  override predict(obs: Float32Array, actions: ArrayLike<number>, rows: number): DynamicsPrediction {
    const p = super.predict(obs, actions, rows);
    p.delta.fill(0);
    p.contactProb.fill(1);
    for (let i = 0; i < rows; i++) p.outcomeProb.set([1 - this.rest, 0, this.rest], i * 3);
    return p;
  }
}

/** A lander in free fall: no leg contact, vy falling by gravity's 0.027 a step (observation units). */
class FallingModel extends KnownModel {
  constructor() {
    super(1);
  }

  override predict(obs: Float32Array, actions: ArrayLike<number>, rows: number): DynamicsPrediction {
    const p = super.predict(obs, actions, rows);
    for (let i = 0; i < rows; i++) p.delta[i * STATE_DIMS + 3] = -0.027;
    return p;
  }
}

describe('ModelVectorEnv', () => {
  it('keeps the vector-env contract, as the real env does, and truncates exactly at the horizon', () => {
    const env = new ModelVectorEnv(
      new KnownModel(1),
      { startStates: starts },
      { numEnvs: 5, horizon: 7, lambdaUncertainty: 0 },
    );
    const report = checkVectorEnvContract(env, 40);
    expect(report.endings).toBe(5 * Math.floor(40 / 7));
    expect(report.lengths.every((l) => l === 7)).toBe(true);
    expect(report.truncations).toBe(report.endings);
    expect(env.imagined).toBe(true);
    // The real env passes the same checks.
    const real = new SyncVectorEnv({ numEnvs: 2, envOptions: { maxEpisodeSteps: 50 } });
    expect(checkVectorEnvContract(real, 120).endings).toBeGreaterThan(0);
  });

  it('ends copies on a sampled crash with -100, and on the horizon with the last state in finalObservations', () => {
    const env = new ModelVectorEnv(
      new KnownModel(1, 0.2),
      { startStates: starts },
      { numEnvs: 64, horizon: 3, lambdaUncertainty: 0, reward: 'predicted' },
    );
    env.reset(3);
    let crashes = 0;
    for (let t = 0; t < 30; t++) {
      const before = env.state().observations;
      const r = env.step(new Float32Array(64).fill(2));
      for (let i = 0; i < 64; i++) {
        if (r.terminated[i]) {
          crashes++;
          expect(r.rewards[i]).toBe(-100);
          expect(r.truncated[i]).toBe(0);
        } else expect(r.rewards[i]).toBeCloseTo(-0.3, 6);
        if (r.terminated[i] || r.truncated[i]) {
          // The final observation is the state before the step moved by the model's change.
          expect(r.finalObservations[i * 8]).toBeCloseTo(before[i * 8]! + 0.01, 6);
          expect(r.finalObservations[i * 8 + 1]).toBeCloseTo(before[i * 8 + 1]! - 0.02, 6);
          expect(r.observations[i * 8 + 1]).toBe(Math.fround(1.2));
        }
      }
    }
    // 20% a step over 64 x 30 steps, less what truncation pre-empts.
    expect(crashes).toBeGreaterThan(64 * 30 * 0.2 * 0.8);
    expect(env.counters.crashes).toBe(crashes);
  });

  it('subtracts lambda x the members disagreement, and counts it', () => {
    const env = new ModelVectorEnv(
      new KnownModel(3),
      { startStates: starts },
      { numEnvs: 4, horizon: 100, lambdaUncertainty: 2, reward: 'predicted' },
    );
    env.reset(1);
    const r = env.step(new Float32Array(4));
    // Members move x by 0.01, 0.02, 0.03: their std is 0.00816 on x (spread 1), 0 elsewhere: / 6 dims.
    const disagreement = Math.sqrt(((0.01 - 0.02) ** 2 + 0 + (0.03 - 0.02) ** 2) / 3) / 6;
    for (let i = 0; i < 4; i++) {
      expect(r.disagreement[i]).toBeCloseTo(disagreement, 6);
      expect(r.rewards[i]).toBeCloseTo(-2 * disagreement, 6);
      expect(r.rawRewards[i]).toBe(0);
    }
    expect(env.counters.uncertaintyPenalty).toBeCloseTo(4 * 2 * disagreement, 6);
    const limited = new ModelVectorEnv(
      new KnownModel(3),
      { startStates: starts },
      { numEnvs: 4, disagreementLimit: disagreement / 2 },
    );
    limited.reset(1);
    const cut = limited.step(new Float32Array(4));
    expect(Array.from(cut.truncatedByDisagreement)).toEqual([1, 1, 1, 1]);
    expect(limited.counters.truncatedByDisagreement).toBe(4);
  });

  it('keeps one member per rollout with memberChoice fixed', () => {
    const env = new ModelVectorEnv(
      new KnownModel(3),
      { startStates: starts },
      { numEnvs: 8, horizon: 50, memberChoice: 'fixed', lambdaUncertainty: 0 },
    );
    env.reset(2);
    const x0 = env.state().observations.filter((_, k) => k % 8 === 0);
    let r = env.step(new Float32Array(8));
    const firstMove = Array.from(
      r.observations.filter((_, k) => k % 8 === 0),
      (x, i) => x - x0[i]!,
    );
    for (let t = 0; t < 5; t++) {
      const before = Array.from(r.observations.filter((_, k) => k % 8 === 0));
      r = env.step(new Float32Array(8));
      const moves = Array.from(
        r.observations.filter((_, k) => k % 8 === 0),
        (x, i) => x - before[i]!,
      );
      moves.forEach((m, i) => {
        expect(m).toBeCloseTo(firstMove[i]!, 6);
      });
    }
    expect(new Set(firstMove.map((m) => m.toFixed(3))).size).toBeGreaterThan(1);
  });

  it('is seeded and resumes from its own state without replaying', () => {
    const make = () =>
      new ModelVectorEnv(new KnownModel(3, 0.1), { startStates: starts }, { numEnvs: 6, horizon: 5 });
    const actions = (t: number) => Float32Array.from({ length: 6 }, (_, i) => (t + i) % 4);
    const unbroken = make();
    unbroken.reset(9);
    const expected: number[][] = [];
    for (let t = 0; t < 20; t++) expected.push(Array.from(unbroken.step(actions(t)).rewards));
    const first = make();
    first.reset(9);
    for (let t = 0; t < 8; t++) first.step(actions(t));
    const saved = JSON.parse(JSON.stringify(first.state()));
    const resumed = make();
    resumed.restoreState(saved);
    const rest: number[][] = [];
    for (let t = 8; t < 20; t++) rest.push(Array.from(resumed.step(actions(t)).rewards));
    expect(rest).toEqual(expected.slice(8));
    expect(resumed.counters.steps).toBe(unbroken.counters.steps);
  });

  it('penalises only the unfamiliarity above the reference (a relative score over 1)', () => {
    const scores = Float32Array.from([0.5, 1, 3, 11]);
    const familiarity = { score: () => scores };
    const env = new ModelVectorEnv(
      new KnownModel(1),
      { startStates: starts, familiarity },
      { numEnvs: 4, lambdaUncertainty: 0, lambdaFamiliarity: 0.5, reward: 'predicted' },
    );
    env.reset(1);
    const r = env.step(new Float32Array(4));
    expect(Array.from(r.rewards)).toEqual([0, 0, -1, -5]);
    expect(Array.from(r.unfamiliarity)).toEqual([0.5, 1, 3, 11]);
    expect(env.counters.familiarityPenalty).toBe(6);
  });

  it('warms a recurrent model on the real steps that led to each branched start', () => {
    const model = new SummingMemoryModel(1);
    const k = 3;
    // Two start rows: one with three real steps at x = 1, 2, 3 behind it, one at an episode's start.
    const history = {
      k,
      observations: new Float32Array(2 * k * OBSERVATION_SIZE),
      actions: new Float32Array(2 * k),
      counts: Int32Array.from([3, 0]),
    };
    [1, 2, 3].forEach((x, j) => {
      history.observations[j * OBSERVATION_SIZE] = x;
    });
    const startStates = starts.slice(0, 2 * OBSERVATION_SIZE);
    const env = new ModelVectorEnv(
      model,
      { startStates, startHistory: history, startOrder: 'sequential' },
      { numEnvs: 2, horizon: 2, lambdaUncertainty: 0 },
    );
    env.reset(1);
    expect(env.state().memory).toEqual([6, 0]);
    expect(model.calls).toEqual([[3, 0]]);
    env.step(new Float32Array(2));
    env.step(new Float32Array(2));
    // Both copies truncated at H = 2 together and were warmed again in one call.
    expect(model.calls).toEqual([
      [3, 0],
      [3, 0],
    ]);
    expect(
      () =>
        new ModelVectorEnv(model, { startStates, startHistory: { ...history, counts: new Int32Array(3) } }),
    ).toThrow(/startHistory does not fit 2 start rows/);
  });

  it("rebuilds a recurrent model's memory every rewarmEvery steps on the copy's own last steps, and resumes", () => {
    const config = {
      numEnvs: 2,
      horizon: 100,
      lambdaUncertainty: 0,
      rewarmEvery: 4,
      rewarmWindow: 3,
    } as const;
    const model = new SummingMemoryModel(1);
    const env = new ModelVectorEnv(model, { startStates: starts, startOrder: 'sequential' }, config);
    env.reset(1);
    for (let t = 0; t < 4; t++) env.step(new Float32Array(2));
    // After step 4 both copies were rebuilt together on their last 3 steps, which started at x = 0.01,
    // 0.02, 0.03 (the start is x = 0).
    expect(model.calls).toEqual([[3, 3]]);
    expect(env.state().memory.map((m) => Number(m.toFixed(4)))).toEqual([0.06, 0.06]);
    const saved = JSON.parse(JSON.stringify(env.state()));
    for (let t = 0; t < 4; t++) env.step(new Float32Array(2));
    const expected = env.state().memory;
    const resumed = new ModelVectorEnv(
      new SummingMemoryModel(1),
      { startStates: starts, startOrder: 'sequential' },
      config,
    );
    resumed.restoreState(saved);
    for (let t = 0; t < 4; t++) resumed.step(new Float32Array(2));
    expect(resumed.state().memory).toEqual(expected);
    expect(() => resumed.restoreState({ ...saved, recent: undefined })).toThrow(
      /lacks the memory model's recent steps/,
    );
  });

  it('branchStarts starts at the states buffer rows led to, with the steps of their episode behind them', () => {
    const buffer = new ReplayBuffer({ observationSize: 8, actionSize: 1, capacity: 16 });
    const obs = (x: number) => Float32Array.from({ length: 8 }, (_, j) => (j === 0 ? x : 0));
    for (let t = 0; t < 5; t++) {
      buffer.add({
        observation: obs(t),
        action: t % 4,
        reward: 0,
        nextObservation: obs(t + 1),
        terminated: t === 4,
        truncated: false,
      });
    }
    const set = branchStarts(buffer, [0, 2, 4], 3);
    // Row 4 ended its episode: no start there.
    expect(set.observations.length).toBe(2 * 8);
    expect([set.observations[0], set.observations[8]]).toEqual([1, 3]);
    const h = set.history!;
    expect(Array.from(h.counts)).toEqual([1, 3]);
    // Right-aligned: start 0 has one real step (x = 0) in its last position; start 1 has x = 0, 1, 2.
    expect([0, 1, 2].map((j) => h.observations[(0 * 3 + j) * 8])).toEqual([0, 0, 0]);
    expect([0, 1, 2].map((j) => h.observations[(1 * 3 + j) * 8])).toEqual([0, 1, 2]);
    expect(Array.from(h.actions.subarray(3, 6))).toEqual([0, 1, 2]);
    // The last two steps of that window are the window of two.
    const short = lastSteps(h, 2);
    const two = branchStarts(buffer, [0, 2, 4], 2).history!;
    expect(short.k).toBe(2);
    expect(Array.from(short.counts)).toEqual(Array.from(two.counts));
    expect(Array.from(short.observations)).toEqual(Array.from(two.observations));
    expect(Array.from(short.actions)).toEqual(Array.from(two.actions));
    expect(lastSteps(h, 5)).toBe(h);
  });

  it("the shaping reward is the real env's reward of every ordinary step, discrete and continuous", () => {
    for (const continuous of [false, true]) {
      const env = new LunarLander({ continuous });
      const rng = new Rng(5);
      let before = env.reset({ seed: 3 }).observation.slice();
      let checked = 0;
      for (let t = 0; t < 400; t++) {
        const action = continuous
          ? Float32Array.of(rng.uniform(-1, 1), rng.uniform(-1, 1))
          : Float32Array.of(rng.integer(0, 4));
        const step = env.step(continuous ? action : action[0]!);
        if (step.terminated || step.truncated) {
          before = env.reset({ seed: 10 + t }).observation.slice();
          continue;
        }
        // Observations are float32 roundings of the physics state the env's reward used.
        expect(shapingReward(before, 0, step.observation, 0, !continuous, action, 0)).toBeCloseTo(
          step.reward,
          3,
        );
        checked++;
        before = step.observation.slice();
      }
      expect(checked).toBeGreaterThan(300);
    }
  });

  it("lands by Box2D's sleep rule: 25 still steps with no engine, counted again after a firing", () => {
    const standing = Float32Array.from([0, 0, 0, 0, 0, 0, 1, 1]);
    // The head calls half the steps "at rest"; under the sleep rule that class counts as continue.
    const env = new ModelVectorEnv(
      new StandingModel(0.5),
      { startStates: standing },
      { numEnvs: 2, horizon: 100, lambdaUncertainty: 0, restRule: 'sleep' },
    );
    env.reset(1);
    const endedAt: number[][] = [[], []];
    for (let t = 1; t <= 60; t++) {
      // Copy 0 never fires; copy 1 fires the main engine at step 10, then rests.
      const r = env.step([0, t === 10 ? 2 : 0]);
      for (let i = 0; i < 2; i++) {
        if (r.terminated[i]) {
          expect(r.rewards[i]).toBe(100);
          endedAt[i]!.push(t);
        } else expect(r.truncated[i]).toBe(0);
      }
      if (t === 30) {
        // The count is part of the env's state: a restored copy lands when the original does.
        const twin = new ModelVectorEnv(
          new StandingModel(0.5),
          { startStates: standing },
          { numEnvs: 2, horizon: 100, lambdaUncertainty: 0, restRule: 'sleep' },
        );
        twin.restoreState(env.state());
        const a = twin.step([0, 0]);
        const b = env.step([0, 0]);
        expect(Array.from(a.terminated)).toEqual(Array.from(b.terminated));
        t++;
        for (let i = 0; i < 2; i++) if (b.terminated[i]) endedAt[i]!.push(t);
      }
    }
    expect(endedAt[0]).toEqual([25, 50]);
    expect(endedAt[1]).toEqual([35, 60]);
    expect(env.counters.landings).toBe(4);
    // Under the head's rule the same model lands about every other step.
    const byHead = new ModelVectorEnv(
      new StandingModel(0.5),
      { startStates: standing },
      { numEnvs: 64, horizon: 100, lambdaUncertainty: 0 },
    );
    byHead.reset(1);
    byHead.step(new Float32Array(64));
    expect(byHead.counters.landings).toBeGreaterThan(16);
    // A lander in the air never sleeps: gravity changes its vy by about 0.027 a step.
    const flying = new ModelVectorEnv(
      new FallingModel(),
      { startStates: standing },
      { numEnvs: 4, horizon: 100, lambdaUncertainty: 0, restRule: 'sleep' },
    );
    flying.reset(1);
    for (let t = 0; t < 60; t++) flying.step(new Float32Array(4));
    expect(flying.counters.landings).toBe(0);
  });

  it('lands a lander resting with its leg flags down, as Gymnasium leaves them after an edge', () => {
    // Measured on the real env: 43 of 98 heuristic landings ended at rest with a flag 0 (21 with both).
    class FlagsDown extends StandingModel {
      override predict(obs: Float32Array, actions: ArrayLike<number>, rows: number): DynamicsPrediction {
        const p = super.predict(obs, actions, rows);
        p.contactProb.fill(0);
        return p;
      }
    }
    const env = new ModelVectorEnv(
      new FlagsDown(0),
      { startStates: Float32Array.from([0, 0, 0, 0, 0, 0, 0, 0]) },
      { numEnvs: 1, horizon: 100, lambdaUncertainty: 0, restRule: 'sleep' },
    );
    env.reset(1);
    let landedAt = 0;
    for (let t = 1; t <= 30 && landedAt === 0; t++) if (env.step([0]).terminated[0]) landedAt = t;
    expect(landedAt).toBe(25);
  });

  it('lands by the memoryless sleep rule (hazard) at 1 / sleepSteps per quiet step, never while an engine fires', () => {
    const standing = Float32Array.from([0, 0, 0, 0, 0, 0, 1, 1]);
    const make = () =>
      new ModelVectorEnv(
        new StandingModel(0.5),
        { startStates: standing },
        { numEnvs: 64, horizon: 1000, lambdaUncertainty: 0, restRule: 'hazard', seed: 4 },
      );
    const quiet = make();
    quiet.reset(4);
    for (let t = 0; t < 50; t++) quiet.step(new Float32Array(64));
    // 64 x 50 quiet steps at 1/25: 128 expected, sd about 11.
    expect(quiet.counters.landings).toBeGreaterThan(100);
    expect(quiet.counters.landings).toBeLessThan(156);
    const firing = make();
    firing.reset(4);
    for (let t = 0; t < 50; t++) firing.step(new Float32Array(64).fill(1));
    expect(firing.counters.landings).toBe(0);
  });

  it('never lands a lander at the top of a hop, still for two steps in free fall, by either rule', () => {
    // vy 0.04 at the start, -0.027 a step: 0.013 and -0.013 after the first two steps, under the tolerance.
    const hop = Float32Array.from([0, 0.5, 0, 0.04, 0, 0, 0, 0]);
    for (const restRule of ['hazard', 'sleep'] as const) {
      const env = new ModelVectorEnv(
        new FallingModel(),
        { startStates: hop },
        { numEnvs: 500, horizon: 4, lambdaUncertainty: 0, restRule, sleepSteps: 2, seed: 6 },
      );
      env.reset(6);
      for (let t = 0; t < 4; t++) env.step(new Float32Array(500));
      // Without the free-fall minimum: 1,056 landings under 'hazard' (measured), every copy under 'sleep'.
      expect(env.counters.landings).toBe(0);
    }
  });

  it('counts the real steps a branched start had already stood still, stopping at a firing or a move', () => {
    const still = [0, 0, 0, 0, 0, 0, 1, 1];
    const moving = [0, 0, 0.1, 0, 0, 0, 1, 1];
    const k = 4;
    // Start 0: three still steps with no engine before it, the one before those moving.
    // Start 1: still, but the engine fired on the last step. Start 2: only two real steps, both still.
    const history = {
      k,
      observations: Float32Array.from([
        ...moving,
        ...moving,
        ...still,
        ...still,
        ...still,
        ...still,
        ...still,
        ...still,
        ...Array(16).fill(0),
        ...still,
        ...still,
      ]),
      actions: Float32Array.from([0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0]),
      counts: Int32Array.from([4, 4, 2]),
    };
    const starts = { observations: Float32Array.from([...still, ...still, ...still]), history };
    const counts = stillStepsBefore(starts, true, { sleepSpeed: 0.02, sleepSpin: 0.05 });
    expect(Array.from(counts)).toEqual([3, 0, 2]);
    // Without history every start counts from zero.
    expect(
      Array.from(stillStepsBefore({ observations: starts.observations }, true, defaultModelEnvConfig)),
    ).toEqual([0, 0, 0]);
  });

  it("truncates a copy the model takes out of Gymnasium's observation box, clipped to it, and bounds predicted rewards", () => {
    /** Member 0 moves x by +1.5 a step and predicts a reward of 1e6 (a diverging model). */
    class Diverging extends KnownModel {
      override predict(obs: Float32Array, actions: ArrayLike<number>, rows: number): DynamicsPrediction {
        const p = super.predict(obs, actions, rows);
        for (let i = 0; i < rows; i++) {
          p.delta[i * STATE_DIMS] = 1.5;
          p.reward[i] = 1e6;
        }
        return p;
      }
    }
    const start = new Float32Array(OBSERVATION_SIZE);
    const env = new ModelVectorEnv(
      new Diverging(1),
      { startStates: start },
      { numEnvs: 2, horizon: 50, lambdaUncertainty: 0, reward: 'predicted', outOfBoundsCrash: false },
    );
    env.reset(1);
    const first = env.step([0, 0]);
    expect(Array.from(first.truncated)).toEqual([0, 0]);
    expect(Array.from(first.rewards)).toEqual([100, 100]);
    const second = env.step([0, 0]);
    expect(Array.from(second.truncated)).toEqual([1, 1]);
    expect(second.terminated[0]).toBe(0);
    expect(second.finalObservations[0]).toBe(2.5);
    expect(second.observations[0]).toBe(0);
    expect(env.counters.leftObservationBox).toBe(2);
    expect(env.counters.truncatedByHorizon).toBe(0);
  });

  it('refuses bad settings and actions with clear errors', () => {
    expect(() => new ModelVectorEnv(new KnownModel(1), { startStates: new Float32Array(5) })).toThrow(
      /startStates holds 5 numbers/,
    );
    expect(
      () => new ModelVectorEnv(new KnownModel(1), { startStates: starts }, { lambdaFamiliarity: 2 }),
    ).toThrow(/lambdaFamiliarity > 0 needs a familiarity scorer/);
    expect(() => new ModelVectorEnv(new KnownModel(1), { startStates: starts }, { horizon: 0 })).toThrow(
      /horizon = 0 is invalid/,
    );
    const env = new ModelVectorEnv(new KnownModel(1), { startStates: starts }, { numEnvs: 2 });
    env.reset(1);
    expect(() => env.step([0, 7])).toThrow(/action 7 of copy 1 is invalid/);
  });
});
