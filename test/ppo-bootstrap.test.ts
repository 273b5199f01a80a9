/**
 * PPO must bootstrap a time-limit truncation from V(finalObservations), the last observation of the episode
 * that ended, not from the observation the copy shows after its reset (vector-env.ts). A deterministic env
 * whose final and reset observations differ sharply makes the two choices give different returns; the test
 * recomputes the first update's GAE returns by hand from the critic's values and compares them with what
 * PPO computed (computeGae's output, spied on) and with the explained variance it reports.
 */
import { describe, expect, it, vi } from 'vitest';
import { computeGae } from '../src/rl/gae.ts';
import { Ppo } from '../src/rl/ppo.ts';
import type { RlVectorEnv, RlVectorStep } from '../src/rl/vector-env.ts';
import { noGrad, tensor } from '../src/tensor/index.ts';
import { TinyVectorEnv } from './helpers/tiny-env.ts';

// Calls through to the real computeGae and records its inputs and outputs.
vi.mock(import('../src/rl/gae.ts'), { spy: true });

/** Episode length: every episode is truncated after this many steps (never terminated). */
const LENGTH = 4;
/** The observation at step t of an episode: the reset one (t = 0) and the final one (t = LENGTH) far apart. */
const observationAt = (t: number): [number, number] => [t - LENGTH / 2, t === LENGTH ? 3 : -1];
const rewardAt = (t: number) => 0.25 * t;

/**
 * Copy i is at step `phase[i]` of its episode and shows observationAt(phase[i]); actions are ignored. Copy i
 * starts its first episode at step i, so the copies are truncated on different rows of the rollout.
 */
class PhaseVectorEnv implements RlVectorEnv {
  readonly observationSize = 2;
  readonly actionSpace = { n: 2 };
  private readonly phase: Int32Array;
  private readonly out: RlVectorStep;

  constructor(readonly numEnvs: number) {
    this.phase = new Int32Array(numEnvs);
    this.out = {
      observations: new Float32Array(numEnvs * 2),
      rewards: new Float32Array(numEnvs),
      terminated: new Uint8Array(numEnvs),
      truncated: new Uint8Array(numEnvs),
      finalObservations: new Float32Array(numEnvs * 2),
      episodeReturns: new Float64Array(numEnvs),
      episodeLengths: new Int32Array(numEnvs),
    };
  }

  reset(): { observations: Float32Array } {
    for (let i = 0; i < this.numEnvs; i++) {
      this.phase[i] = i % LENGTH;
      this.out.observations.set(observationAt(this.phase[i]!), i * 2);
    }
    return { observations: this.out.observations };
  }

  step(_actions: ArrayLike<number>): RlVectorStep {
    const o = this.out;
    for (let i = 0; i < this.numEnvs; i++) {
      const t = ++this.phase[i]!;
      o.rewards[i] = rewardAt(t);
      o.terminated[i] = 0;
      o.truncated[i] = t === LENGTH ? 1 : 0;
      if (t === LENGTH) {
        o.finalObservations.set(observationAt(LENGTH), i * 2);
        o.episodeReturns[i] = 0;
        o.episodeLengths[i] = LENGTH;
        this.phase[i] = 0;
      }
      o.observations.set(observationAt(this.phase[i]!), i * 2);
    }
    return o;
  }

  async close(): Promise<void> {}
}

/** GAE by its definition, per env, over a rollout where only truncations end episodes. */
function gaeReturns(
  steps: number,
  envs: number,
  phaseAt: (t: number, e: number) => number,
  v: (phase: number) => number,
  bootstrap: number,
  gamma: number,
  lambda: number,
): Float64Array {
  const returns = new Float64Array(steps * envs);
  for (let e = 0; e < envs; e++) {
    let advantage = 0;
    for (let t = steps - 1; t >= 0; t--) {
      const phase = phaseAt(t, e);
      const truncated = phase + 1 === LENGTH;
      // After a truncation the next stored step is a new episode: bootstrap, and carry nothing across.
      const nextValue = truncated ? bootstrap : v((phase + 1) % LENGTH);
      const delta = rewardAt(phase + 1) + gamma * nextValue - v(phase);
      advantage = delta + (truncated ? 0 : gamma * lambda * advantage);
      returns[t * envs + e] = advantage + v(phase);
    }
  }
  return returns;
}

function explainedVariance(predicted: ArrayLike<number>, actual: ArrayLike<number>): number {
  const n = actual.length;
  const mean = (f: (i: number) => number) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += f(i);
    return s / n;
  };
  const meanA = mean((i) => actual[i]!);
  const meanD = mean((i) => actual[i]! - predicted[i]!);
  const varA = mean((i) => (actual[i]! - meanA) ** 2);
  const varD = mean((i) => (actual[i]! - predicted[i]! - meanD) ** 2);
  return 1 - varD / varA;
}

describe('PPO truncation bootstrap', () => {
  it('bootstraps a truncated episode from V(final observation), not V(reset observation)', () => {
    const envs = 3;
    const steps = 7;
    const gamma = 0.9;
    const lambda = 0.8;
    const ppo = new Ppo(new PhaseVectorEnv(envs), {
      totalSteps: envs * steps,
      stepsPerEnv: steps,
      minibatchSize: envs * steps,
      epochs: 1,
      gamma,
      lambda,
      hiddenSizes: [8],
      seed: 11,
    });
    // The critic before the update (the rollout's values and bootstraps all come from these weights).
    const table = new Float32Array((LENGTH + 1) * 2);
    for (let t = 0; t <= LENGTH; t++) table.set(observationAt(t), t * 2);
    const critic = noGrad(() => Array.from(ppo.policy.value(tensor(table, [LENGTH + 1, 2])).data));
    const v = (phase: number) => critic[phase]!;
    const vFinal = v(LENGTH);
    const vReset = v(0);

    const phaseAt = (t: number, e: number) => (e + t) % LENGTH;
    const right = gaeReturns(steps, envs, phaseAt, v, vFinal, gamma, lambda);
    const wrong = gaeReturns(steps, envs, phaseAt, v, vReset, gamma, lambda);
    const values = Array.from({ length: steps * envs }, (_, k) => v(phaseAt(Math.floor(k / envs), k % envs)));
    const truncatedRows: number[] = [];
    for (let k = 0; k < steps * envs; k++) {
      if (phaseAt(Math.floor(k / envs), k % envs) + 1 === LENGTH) truncatedRows.push(k);
    }
    // The test can tell the two apart: each truncated row's return moves by gamma * (vFinal - vReset).
    expect(truncatedRows.length).toBeGreaterThanOrEqual(envs);
    expect(Math.abs(vFinal - vReset)).toBeGreaterThan(0.2);
    const evRight = explainedVariance(values, right);
    const evWrong = explainedVariance(values, wrong);
    expect(Math.abs(evRight - evWrong)).toBeGreaterThan(0.05);

    vi.mocked(computeGae).mockClear();
    ppo.start();
    const metrics = ppo.update();

    expect(computeGae, 'PPO computes its advantages with computeGae').toHaveBeenCalledTimes(1);
    const { returns } = vi.mocked(computeGae).mock.results[0]!.value as { returns: Float32Array };
    const got = Array.from(returns);
    for (const k of truncatedRows) {
      expect(
        got[k],
        `return at truncated row ${k} (V(final) = ${vFinal}, V(reset) = ${vReset}; the reset one gives ${wrong[k]})`,
      ).toBeCloseTo(right[k]!, 4);
    }
    for (let k = 0; k < steps * envs; k++) expect(got[k], `return at row ${k}`).toBeCloseTo(right[k]!, 4);
    // The same through the public metrics: explained variance of these returns by the rollout's values.
    expect(
      metrics.explainedVariance,
      `explained variance (the reset bootstrap gives ${evWrong})`,
    ).toBeCloseTo(evRight, 4);
  });
});

describe('TinyVectorEnv (test helper) keeps the vector-env contract', () => {
  it('reports the ended episode’s last observation in finalObservations, not the next episode’s start', () => {
    const envs = 4;
    const env = new TinyVectorEnv(envs, false, 3);
    env.reset(5);
    let truncations = 0;
    let differFromReset = 0;
    for (let t = 0; t < 60; t++) {
      const result = env.step(new Float32Array(envs));
      for (let i = 0; i < envs; i++) {
        if (!result.truncated[i]) continue;
        truncations++;
        const final = Array.from(result.finalObservations.subarray(i * 2, i * 2 + 2));
        const start = Array.from(result.observations.subarray(i * 2, i * 2 + 2));
        expect([
          [-1, 0.5],
          [1, 0.5],
        ]).toContainEqual(final);
        if (final[0] !== start[0]) differFromReset++;
      }
    }
    expect(truncations).toBe(80);
    // Final and start targets are independent draws, so about half differ; a final observation that is
    // the reset observation would never differ.
    expect(differFromReset).toBeGreaterThan(20);
    expect(differFromReset).toBeLessThan(60);
  });
});
