import { describe, expect, it } from 'vitest';
import { Categorical, DiagonalGaussian } from '../src/rl/distributions.ts';
import { computeGae } from '../src/rl/gae.ts';
import { normalizeRows, RunningMeanStd } from '../src/rl/running-stats.ts';
import { Rng, randn, tensor } from '../src/tensor/index.ts';
import { expectGradientsMatch, normal } from './helpers/gradcheck.ts';

/** The same GAE by the textbook forward sum: A_t = sum_l (gamma lambda)^l delta_{t+l}, per episode. */
function slowGae(
  rewards: number[],
  values: number[],
  dones: boolean[],
  last: number,
  gamma: number,
  lambda: number,
) {
  const adv: number[] = [];
  for (let t = 0; t < rewards.length; t++) {
    let total = 0;
    let factor = 1;
    for (let l = t; l < rewards.length; l++) {
      const nextValue = dones[l] ? 0 : l === rewards.length - 1 ? last : values[l + 1]!;
      total += factor * (rewards[l]! + gamma * nextValue - values[l]!);
      if (dones[l]) break;
      factor *= gamma * lambda;
    }
    adv.push(total);
  }
  return adv;
}

describe('GAE', () => {
  it('matches the forward-sum definition across episode ends, per env', () => {
    const rng = new Rng(5);
    const steps = 12;
    const envs = 3;
    const rewards = rng.fillNormal(new Float32Array(steps * envs));
    const values = rng.fillNormal(new Float32Array(steps * envs));
    const terminated = new Uint8Array(steps * envs).map(() => (rng.uniform() < 0.2 ? 1 : 0));
    const lastValues = rng.fillNormal(new Float32Array(envs));
    const { advantages, returns } = computeGae({
      steps,
      envs,
      rewards,
      values,
      terminated,
      truncated: new Uint8Array(steps * envs),
      truncatedValues: new Float32Array(steps * envs),
      lastValues,
      gamma: 0.99,
      lambda: 0.95,
    });
    for (let e = 0; e < envs; e++) {
      const column = <T>(a: ArrayLike<T>) => Array.from({ length: steps }, (_, t) => a[t * envs + e]!);
      const want = slowGae(
        column(rewards),
        column(values),
        column(terminated).map(Boolean),
        lastValues[e]!,
        0.99,
        0.95,
      );
      for (let t = 0; t < steps; t++) {
        expect(advantages[t * envs + e]).toBeCloseTo(want[t]!, 4);
        expect(returns[t * envs + e]).toBeCloseTo(want[t]! + values[t * envs + e]!, 4);
      }
    }
  });

  it('bootstraps a truncated step from the final observation value but does not carry past it', () => {
    const out = computeGae({
      steps: 2,
      envs: 1,
      rewards: Float32Array.of(1, 1),
      values: Float32Array.of(0, 0),
      terminated: Uint8Array.of(0, 0),
      truncated: Uint8Array.of(1, 0),
      truncatedValues: Float32Array.of(10, 0),
      lastValues: Float32Array.of(0),
      gamma: 0.5,
      lambda: 1,
    });
    expect(Array.from(out.advantages)).toEqual([1 + 0.5 * 10, 1]);
  });

  it('lets termination win over truncation on the same step: no bootstrap from the final value', () => {
    // Two envs, time-major [3, 2]. Env 0 ends with both flags at t = 1, env 1 at the last step t = 2;
    // truncatedValues there is 100, so a bootstrap from it (or from lastValues = 8) would show at once.
    const out = computeGae({
      steps: 3,
      envs: 2,
      rewards: Float32Array.of(1, 1, 2, 1, 4, 1),
      values: Float32Array.of(0.5, 0, 1, 0, 2, 0),
      terminated: Uint8Array.of(0, 0, 1, 0, 0, 1),
      truncated: Uint8Array.of(0, 0, 1, 0, 0, 1),
      truncatedValues: Float32Array.of(0, 0, 100, 0, 0, 100),
      lastValues: Float32Array.of(8, 8),
      gamma: 0.5,
      lambda: 0.5,
    });
    // Env 0 (gamma * lambda = 0.25):
    //   t = 2: delta = 4 + 0.5 * 8 - 2 = 6,            A = 6
    //   t = 1: ends, delta = 2 + 0 - 1 = 1,            A = 1 (no carry)
    //   t = 0: delta = 1 + 0.5 * 1 - 0.5 = 1,          A = 1 + 0.25 * 1 = 1.25
    // Env 1 (values 0, rewards 1):
    //   t = 2: ends, A = 1; t = 1: A = 1 + 0.25 * 1 = 1.25; t = 0: A = 1 + 0.25 * 1.25 = 1.3125
    expect(Array.from(out.advantages)).toEqual([1.25, 1.3125, 1, 1.25, 6, 1]);
    expect(Array.from(out.returns)).toEqual([1.75, 1.3125, 2, 1.25, 8, 1]);
  });

  it('names mismatched lengths', () => {
    const f = new Float32Array(4);
    const u = new Uint8Array(4);
    expect(() =>
      computeGae({
        steps: 2,
        envs: 2,
        rewards: new Float32Array(3),
        values: f,
        terminated: u,
        truncated: u,
        truncatedValues: f,
        lastValues: new Float32Array(2),
        gamma: 1,
        lambda: 1,
      }),
    ).toThrow(/rewards has 3 entries, expected 2x2/);
  });
});

describe('distributions', () => {
  it('categorical: probabilities, entropy, temperature, sampling frequencies', () => {
    const logits = tensor([[0, Math.log(3)]]);
    const d = new Categorical(logits);
    expect(Math.exp(d.logProb([1]).item())).toBeCloseTo(0.75, 5);
    const h = -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75));
    expect(d.entropy().item()).toBeCloseTo(h, 5);
    expect(new Categorical(logits, 1e6).entropy().item()).toBeCloseTo(Math.log(2), 4);
    const rng = new Rng(1);
    let ones = 0;
    for (let i = 0; i < 20_000; i++) ones += d.sample(rng)[0]!;
    expect(ones / 20_000).toBeCloseTo(0.75, 1);
    expect(d.mode()[0]).toBe(1);
    expect(() => new Categorical(logits, 0)).toThrow(/temperature must be > 0, got 0/);
  });

  it('categorical log-prob and entropy gradients', () => {
    const rng = new Rng(2);
    expectGradientsMatch((l) => new Categorical(l, 0.7).logProb([0, 2, 1]), [normal([3, 4], rng)]);
    expectGradientsMatch((l) => new Categorical(l).entropy(), [normal([3, 4], rng)]);
  });

  it('gaussian log-prob equals the closed form, entropy too; gradients check', () => {
    const mean = tensor([[0.5, -1]]);
    const logStd = tensor([Math.log(2), 0]);
    const d = new DiagonalGaussian(mean, logStd);
    const a = tensor([[1.5, 0]]);
    const want = [
      [1.5, 0.5, 2],
      [0, -1, 1],
    ].reduce(
      (s, [x, m, sd]) => s - 0.5 * ((x! - m!) / sd!) ** 2 - Math.log(sd!) - 0.5 * Math.log(2 * Math.PI),
      0,
    );
    expect(d.logProb(a).item()).toBeCloseTo(want, 5);
    expect(d.entropy().item()).toBeCloseTo(Math.log(2) + 1 + Math.log(2 * Math.PI), 5);
    const rng = new Rng(3);
    expectGradientsMatch(
      (m, s) => new DiagonalGaussian(m, s).logProb(randn([4, 2], new Rng(9))),
      [normal([4, 2], rng), normal([2], rng)],
    );
  });
});

describe('RunningMeanStd', () => {
  it('agrees with the two-pass mean and variance over many batches', () => {
    const rng = new Rng(4);
    const stats = new RunningMeanStd(2, 0);
    const all: number[][] = [[], []];
    for (let b = 0; b < 20; b++) {
      const rows = 1 + Math.floor(rng.uniform() * 30);
      const batch = new Float32Array(rows * 2);
      for (let r = 0; r < rows; r++) {
        batch[r * 2] = 3 + 2 * rng.normal();
        batch[r * 2 + 1] = -1 + 0.5 * rng.normal();
        all[0]!.push(batch[r * 2]!);
        all[1]!.push(batch[r * 2 + 1]!);
      }
      stats.update(batch, rows);
    }
    for (let j = 0; j < 2; j++) {
      const xs = all[j]!;
      const m = xs.reduce((p, x) => p + x, 0) / xs.length;
      const v = xs.reduce((p, x) => p + (x - m) ** 2, 0) / xs.length;
      expect(stats.mean[j]).toBeCloseTo(m, 4);
      expect(stats.variance[j]).toBeCloseTo(v, 3);
    }
    const z = normalizeRows(
      'test',
      Float32Array.of(stats.mean[0]!, 1e9),
      stats.mean,
      stats.variance,
      new Float32Array(2),
      10,
      1e-8,
    );
    expect(z[0]).toBeCloseTo(0, 5);
    expect(z[1]).toBe(10);
    expect(RunningMeanStd.fromJSON(stats.toJSON()).toJSON()).toEqual(stats.toJSON());
  });
});
