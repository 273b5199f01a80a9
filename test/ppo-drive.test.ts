// PPO as a model-based loop drives it (issue 10, section 2): a policy and optimiser passed in and shared,
// real and imagined steps counted apart, a frozen observation normaliser, one batched forward for the
// truncation bootstrap, a rollout length that changes between updates, resume from PPO's own state with no
// env replay, non-finite gradient steps skipped and counted, and the integer contract of discrete actions.
import { describe, expect, it, vi } from 'vitest';
import { Adam } from '../src/nn/index.ts';
import { Ppo } from '../src/rl/ppo.ts';
import { RecordedVectorEnv } from '../src/rl/recorded-env.ts';
import { checkActions } from '../src/rl/vector-env.ts';
import { TinyVectorEnv } from './helpers/tiny-env.ts';
import { withoutTimings } from './helpers/without-timings.ts';

const small = {
  totalSteps: 4 * 32 * 6,
  stepsPerEnv: 32,
  minibatchSize: 32,
  epochs: 2,
  gamma: 0.9,
  lambda: 0.9,
  learningRate: 3e-3,
  hiddenSizes: [8],
  seed: 5,
};

/** The tiny env, declaring its steps imagined (as a learned model env does). */
class ImaginedTinyEnv extends TinyVectorEnv {
  readonly imagined = true;
}

describe('PPO driven by a model-based loop', () => {
  it('shares one policy and optimiser between a real and an imagined env, counting their steps apart', () => {
    const real = new Ppo(new TinyVectorEnv(4), small);
    const imagined = new Ppo(new ImaginedTinyEnv(4), small, {
      policy: real.policy,
      optimizer: real.optimizer,
    });
    expect(imagined.policy).toBe(real.policy);
    expect(imagined.optimizer).toBe(real.optimizer);
    real.start();
    imagined.start();
    const before = real.policy.actor.parameters()[0]!.data.slice();
    const m = imagined.update();
    // Learning in the imagined env moved the policy the real env acts with.
    expect(real.policy.actor.parameters()[0]!.data).not.toEqual(before);
    expect(m.steps).toBe(0);
    expect(m.modelSteps).toBe(4 * 32);
    expect(real.optimizer.steps).toBeGreaterThan(0);
    const r = real.update();
    expect(r.steps).toBe(4 * 32);
    expect(r.modelSteps).toBe(0);
    expect(imagined.state().modelSteps).toBe(4 * 32);
    expect(imagined.state().steps).toBe(0);
  });

  it('refuses a policy or optimiser that does not fit', () => {
    const discrete = new Ppo(new TinyVectorEnv(2), small);
    expect(() => new Ppo(new TinyVectorEnv(2, true), small, { policy: discrete.policy })).toThrow(
      /the policy's action space \{"n":2\} does not fit the env's/,
    );
    const other = new Ppo(new TinyVectorEnv(2), small);
    expect(
      () => new Ppo(new TinyVectorEnv(2), small, { policy: discrete.policy, optimizer: other.optimizer }),
    ).toThrow(/the optimizer holds 8 parameters that are not exactly the policy's 8/);
    const partial = new Adam(discrete.policy.actor.parameters(), { lr: 1e-3 });
    expect(
      () => new Ppo(new TinyVectorEnv(2), small, { policy: discrete.policy, optimizer: partial }),
    ).toThrow(/not exactly the policy's/);
    expect(
      () =>
        new Ppo(new TinyVectorEnv(2), { ...small, normalizeObservations: true }, { policy: discrete.policy }),
    ).toThrow(/normalizeObservations = true but the policy passed in was built with false/);
  });

  it('freezes the observation normaliser when told to', () => {
    const config = { ...small, normalizeObservations: true };
    const live = new Ppo(new TinyVectorEnv(4), config);
    live.start();
    live.update();
    expect(Array.from(live.policy.obsMean.data)).not.toEqual([0, 0]);

    const frozen = new Ppo(new TinyVectorEnv(4), { ...config, freezeObservationStats: true });
    frozen.policy.obsMean.data.set([0.25, 0.5]);
    frozen.policy.obsVar.data.set([2, 3]);
    frozen.start();
    frozen.update();
    expect(Array.from(frozen.policy.obsMean.data)).toEqual([0.25, 0.5]);
    expect(Array.from(frozen.policy.obsVar.data)).toEqual([2, 3]);
  });

  it('bootstraps all copies truncated at one step with one forward pass', () => {
    // Every copy truncates at steps 3 and 7 together (episodes of 4): 8 acting forwards, 2 bootstrap
    // forwards and 1 for the last observation. One forward per truncated copy would make 8 + 8 + 1.
    const ppo = new Ppo(new TinyVectorEnv(4), { ...small, stepsPerEnv: 8, minibatchSize: 8, epochs: 1 });
    ppo.start();
    const rows: number[] = [];
    const value = ppo.policy.value.bind(ppo.policy);
    const spy = vi.spyOn(ppo.policy, 'value').mockImplementation((obs) => {
      rows.push(obs.shape[0]!);
      return value(obs);
    });
    ppo.update();
    spy.mockRestore();
    // The optimisation pass calls value() on minibatches of 8 too: count the rollout's calls only.
    const rollout = rows.slice(0, 11);
    expect(rollout).toEqual([4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4]);
    expect(rows.length).toBe(11 + 4);
  });

  it('changes the rollout length between updates, growing its buffers', () => {
    const ppo = new Ppo(new TinyVectorEnv(4), small);
    ppo.start();
    expect(ppo.update().steps).toBe(4 * 32);
    ppo.setRolloutLength(8);
    expect(ppo.rolloutLength).toBe(8);
    expect(ppo.update().steps).toBe(4 * 32 + 4 * 8);
    ppo.setRolloutLength(100);
    const m = ppo.update();
    expect(m.steps).toBe(4 * 32 + 4 * 8 + 4 * 100);
    expect(Number.isFinite(m.policyLoss)).toBe(true);
    expect(ppo.state().stepsPerEnv).toBe(100);
    expect(() => ppo.setRolloutLength(0)).toThrow(/setRolloutLength: expected a positive integer, got 0/);
  });

  it('resumes from its own state with an env restored from its own state, not by replay', () => {
    const config = { ...small, normalizeObservations: true, normalizeRewards: true };
    const unbroken = new Ppo(new ImaginedTinyEnv(4, true), config);
    unbroken.start();
    const expected = [];
    for (let i = 0; i < 5; i++) {
      if (i === 3) unbroken.setRolloutLength(16);
      expected.push(unbroken.update());
    }

    const firstEnv = new ImaginedTinyEnv(4, true);
    const first = new Ppo(firstEnv, config);
    first.start();
    for (let i = 0; i < 3; i++) first.update();
    first.setRolloutLength(16);
    const saved = JSON.parse(JSON.stringify(first.state()));
    const envState = JSON.parse(JSON.stringify(firstEnv.snapshot()));
    const weights = first.policy.stateDict();
    const moments = first.optimizer.stateDict();

    const env = new ImaginedTinyEnv(4, true);
    env.restoreSnapshot(envState);
    const resumed = new Ppo(env, config);
    resumed.policy.loadStateDict(weights);
    resumed.optimizer.loadStateDict(moments);
    resumed.resume(saved);
    expect(resumed.rolloutLength).toBe(16);
    const rest = [resumed.update(), resumed.update()];
    expect(withoutTimings(rest)).toEqual(withoutTimings(expected.slice(3)));
    expect(rest.at(-1)!.modelSteps).toBe(4 * (32 * 3 + 16 * 2));
  });

  it('skips and counts gradient steps with a non-finite norm, and stops after too many in a row', () => {
    const poisoned = (overrides: Record<string, unknown>) => {
      const ppo = new Ppo(new TinyVectorEnv(4), { ...small, ...overrides });
      ppo.policy.critic.parameters()[0]!.data[0] = Number.NaN;
      ppo.start();
      return ppo;
    };
    const tolerant = poisoned({ maxSkippedSteps: 1000 });
    const actorBefore = tolerant.policy.actor.parameters().map((p) => p.data.slice());
    const m = tolerant.update();
    // 4 x 32 samples in minibatches of 32, 2 epochs: all 8 steps skipped, none taken.
    expect(m.skippedSteps).toBe(8);
    expect(tolerant.optimizer.steps).toBe(0);
    expect(tolerant.policy.actor.parameters().map((p) => p.data)).toEqual(actorBefore);

    const strict = poisoned({ maxSkippedSteps: 3 });
    expect(() => strict.update()).toThrow(
      /Ppo: 3 gradient steps in a row had a non-finite gradient norm \(NaN\) at update 1; stopping \(maxSkippedSteps = 3\)/,
    );
  });

  it('states and checks the integer contract of discrete actions', () => {
    const space = { n: 4 };
    expect(() => checkActions('test', space, 2, Float32Array.of(1, 3))).not.toThrow();
    expect(() => checkActions('test', space, 2, Float32Array.of(1, 2.5))).toThrow(
      /test: action 2.5 of copy 1 is invalid; expected an integer in \[0, 4\)/,
    );
    expect(() => checkActions('test', space, 2, [1, 4])).toThrow(/action 4 of copy 1/);
    expect(() => checkActions('test', space, 2, [1])).toThrow(/got 1 action numbers; expected 2 copies x 1/);
    const box = { shape: [2], low: [-1, -1], high: [1, 1] };
    expect(() => checkActions('test', box, 1, [0.5, Number.NaN])).toThrow(/action NaN of copy 0/);
    const env = new RecordedVectorEnv(new TinyVectorEnv(2));
    env.reset(1);
    expect(() => env.step(Float32Array.of(0, 0.5))).toThrow(/RecordedVectorEnv.step: action 0.5 of copy 1/);
  });
});
