// A policy's trial on the real env (src/rl/policy-trial.ts): greedy episodes one per seed, every step seen
// and counted, the allowance honoured to the step, and seeds apart from the evaluation's.
import { describe, expect, it } from 'vitest';
import { ActorCritic } from '../src/rl/actor-critic.ts';
import { runTrial, trialSeeds } from '../src/rl/policy-trial.ts';
import { Rng } from '../src/tensor/index.ts';
import { SyntheticLanderVectorEnv } from './helpers/synthetic-lander-env.ts';

function policy(): ActorCritic {
  return new ActorCritic({
    observationSize: 8,
    actionSpace: { n: 4 },
    hiddenSizes: [8],
    initialLogStd: 0,
    normalizeObservations: false,
    rng: new Rng(3),
  });
}

describe('runTrial', () => {
  it('runs one greedy episode per seed, sees every step, and returns each episode return', () => {
    const actor = policy();
    const env = new SyntheticLanderVectorEnv(1, { maxSteps: 40 });
    const seen: number[] = [];
    const result = runTrial(actor, env, [11, 12, 13], 10_000, (observation, action, step) => {
      // The greedy action of what the policy saw.
      expect(Array.from(action)).toEqual(Array.from(actor.act(observation)));
      seen.push(step.rewards[0]!);
    });
    expect(result.cut).toBe(false);
    expect(result.returns).toHaveLength(3);
    expect(result.steps).toBe(seen.length);
    const total = result.returns.reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(
      seen.reduce((a, b) => a + b, 0),
      3,
    );
    // The same seeds give the same episodes.
    const again = runTrial(
      actor,
      new SyntheticLanderVectorEnv(1, { maxSteps: 40 }),
      [11, 12, 13],
      10_000,
      () => {},
    );
    expect(again).toEqual(result);
  });

  it('stops at the allowance, mid-episode, and says so once', () => {
    const env = new SyntheticLanderVectorEnv(1, { maxSteps: 40 });
    const whole = runTrial(policy(), env, [11, 12, 13], 10_000, () => {});
    const allowance = whole.steps - 1;
    let cuts = 0;
    let steps = 0;
    const cut = runTrial(
      policy(),
      new SyntheticLanderVectorEnv(1, { maxSteps: 40 }),
      [11, 12, 13],
      allowance,
      () => steps++,
      () => cuts++,
    );
    expect(cut).toEqual({ returns: whole.returns.slice(0, 2), steps: allowance, cut: true });
    expect(steps).toBe(allowance);
    expect(cuts).toBe(1);
  });

  it('refuses an env of more than one copy', () => {
    expect(() => runTrial(policy(), new SyntheticLanderVectorEnv(2), [1], 100, () => {})).toThrow(
      /2 copies; expected 1/,
    );
  });
});

describe('trialSeeds', () => {
  it('gives distinct seeds below the evaluation seeds (1e9 on), fixed by the iteration seed', () => {
    for (const iterationSeed of [0, 7, 2_147_483_646]) {
      const seeds = trialSeeds(iterationSeed, 8);
      expect(new Set(seeds).size).toBe(8);
      for (const s of seeds) {
        expect(Number.isSafeInteger(s)).toBe(true);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThan(1e9);
      }
      expect(trialSeeds(iterationSeed, 8)).toEqual(seeds);
    }
    expect(trialSeeds(1, 4)).not.toEqual(trialSeeds(2, 4));
    expect(() => trialSeeds(1, 101)).toThrow(/episodes = 101; expected an integer in \[0, 100\]/);
  });
});
