import { describe, expect, it } from 'vitest';
import { Ppo } from '../src/rl/ppo.ts';
import { resolvePpoConfig } from '../src/rl/ppo-config.ts';
import { RecordedVectorEnv } from '../src/rl/recorded-env.ts';
import { TinyVectorEnv } from './helpers/tiny-env.ts';
import { withoutTimings } from './helpers/without-timings.ts';

const small = {
  totalSteps: 8 * 64 * 12,
  stepsPerEnv: 64,
  minibatchSize: 64,
  epochs: 4,
  gamma: 0.9,
  lambda: 0.9,
  learningRate: 3e-3,
  hiddenSizes: [16],
  seed: 3,
};

function train(env: TinyVectorEnv, overrides: Record<string, unknown> = {}) {
  const ppo = new Ppo(env, { ...small, ...overrides });
  ppo.start();
  const metrics = [];
  while (!ppo.done) metrics.push(ppo.update());
  return { ppo, metrics };
}

describe('PPO', () => {
  it('learns a discrete task: returns rise from chance to near the maximum', () => {
    const { metrics } = train(new TinyVectorEnv(8));
    const first = metrics[0]!.meanReturn!;
    const last = metrics.at(-1)!.meanReturn!;
    expect(first).toBeLessThan(3); // chance is 2 of a maximum of 4
    expect(last).toBeGreaterThan(3.8);
  });

  it('learns a continuous task with observation and reward normalisation', () => {
    const { metrics } = train(new TinyVectorEnv(8, true), {
      normalizeObservations: true,
      normalizeRewards: true,
      totalSteps: 8 * 64 * 25,
    });
    expect(metrics[0]!.meanReturn!).toBeLessThan(2.5);
    expect(metrics.at(-1)!.meanReturn!).toBeGreaterThan(3.5);
  });

  it('gives identical metrics for the same seed', () => {
    const a = train(new TinyVectorEnv(4), { totalSteps: 4 * 64 * 4 });
    const b = train(new TinyVectorEnv(4), { totalSteps: 4 * 64 * 4 });
    expect(withoutTimings(b.metrics)).toEqual(withoutTimings(a.metrics));
  });

  it('resumes from saved state, weights, optimiser moments and the replayed action log exactly', () => {
    const config = { ...small, totalSteps: 4 * 64 * 6, normalizeObservations: true, normalizeRewards: true };
    const unbroken = new Ppo(new RecordedVectorEnv(new TinyVectorEnv(4, true)), config);
    unbroken.start();
    const expected = [];
    while (!unbroken.done) expected.push(unbroken.update());

    const first = new Ppo(new RecordedVectorEnv(new TinyVectorEnv(4, true)), config);
    first.start();
    for (let i = 0; i < 3; i++) first.update();
    const saved = JSON.parse(JSON.stringify(first.state()));
    const weights = first.policy.stateDict();
    const moments = first.optimizer.stateDict();
    const log = (first.env as RecordedVectorEnv).log();
    const savedLog = { ...log, actions: log.actions.slice() };

    const env = new RecordedVectorEnv(new TinyVectorEnv(4, true));
    const resumed = new Ppo(env, config);
    resumed.policy.loadStateDict(weights);
    resumed.optimizer.loadStateDict(moments);
    resumed.resume(saved, env.restore(savedLog));
    const rest = [];
    while (!resumed.done) rest.push(resumed.update());
    expect(withoutTimings(rest)).toEqual(withoutTimings(expected.slice(3)));
  });

  it('the action log refuses a reset without a seed and a short log', () => {
    const env = new RecordedVectorEnv(new TinyVectorEnv(2));
    expect(() => env.reset()).toThrow(/seed is required/);
    expect(() => env.restore({ seed: 1, steps: 3, actions: new Float32Array(2) })).toThrow(
      /expected 3 steps/,
    );
  });

  it('stops early on the KL target and reports fewer epochs', () => {
    const { metrics } = train(new TinyVectorEnv(8), { targetKl: 1e-6, totalSteps: 8 * 64 });
    expect(metrics[0]!.epochs).toBe(1);
  });

  it('rejects bad configuration values by name', () => {
    expect(() => resolvePpoConfig({ gamma: 1.5 })).toThrow(/gamma = 1.5 is invalid/);
    expect(() => resolvePpoConfig({ hiddenSizes: [] })).toThrow(/hiddenSizes/);
    expect(() => resolvePpoConfig({ minibatchSize: 10_000 }, 2)).toThrow(/exceeds the rollout size/);
    expect(() => resolvePpoConfig({ bogus: 1 } as never)).toThrow(/unknown option 'bogus'/);
  });
});
