/**
 * The vector-env contract (src/rl/vector-env.ts) as checks any env can be run through; the real Lunar
 * Lander vector env and the learned model env share them. Over `steps` steps of seeded random actions:
 * arrays have the promised sizes, rewards and final observations are finite, `episodeReturns` and
 * `episodeLengths` equal the sum and count of the copy's steps since it started, and a discrete action that
 * is not an integer in range is refused. Env-specific checks (what the final observation must be, where
 * truncation falls) use the returned report.
 */
import { expect } from 'vitest';
import { actionSize, isDiscrete, type RlVectorEnv } from '../../src/rl/vector-env.ts';
import { Rng } from '../../src/rng/index.ts';

export interface ContractReport {
  endings: number;
  /** Per ending: its length, for env-specific checks (for example truncation at a horizon). */
  lengths: number[];
  truncations: number;
}

export function checkVectorEnvContract(env: RlVectorEnv, steps: number, seed = 1): ContractReport {
  const n = env.numEnvs;
  const obsSize = env.observationSize;
  const perCopy = actionSize(env.actionSpace);
  const rng = new Rng(seed);
  const first = env.reset(seed).observations;
  expect(first.length).toBe(n * obsSize);
  const returns = new Float64Array(n);
  const lengths = new Int32Array(n);
  const report: ContractReport = { endings: 0, lengths: [], truncations: 0 };
  const actions = new Float32Array(n * perCopy);
  for (let t = 0; t < steps; t++) {
    const space = env.actionSpace;
    for (let i = 0; i < actions.length; i++) {
      actions[i] = isDiscrete(space) ? rng.integer(0, space.n) : rng.uniform(-1, 1);
    }
    const r = env.step(actions);
    expect(r.observations.length).toBe(n * obsSize);
    expect(r.finalObservations.length).toBe(n * obsSize);
    for (const a of [r.rewards, r.terminated, r.truncated, r.episodeReturns, r.episodeLengths]) {
      expect(a.length).toBe(n);
    }
    for (let i = 0; i < n; i++) {
      expect(Number.isFinite(r.rewards[i]!)).toBe(true);
      returns[i]! += r.rewards[i]!;
      lengths[i]! += 1;
      if (r.terminated[i] || r.truncated[i]) {
        report.endings++;
        if (r.truncated[i] && !r.terminated[i]) report.truncations++;
        report.lengths.push(lengths[i]!);
        expect(r.episodeLengths[i]).toBe(lengths[i]);
        expect(r.episodeReturns[i]).toBeCloseTo(returns[i]!, 3);
        const final = r.finalObservations.subarray(i * obsSize, (i + 1) * obsSize);
        expect(final.every(Number.isFinite)).toBe(true);
        returns[i] = 0;
        lengths[i] = 0;
      }
    }
  }
  if (isDiscrete(env.actionSpace)) {
    const bad = new Float32Array(n * perCopy);
    bad[0] = 0.5;
    expect(() => env.step(bad)).toThrow(/0\.5/);
  }
  return report;
}
