// The model-based loop's measured hyperparameters (src/rl/dynamic-hyperparameters.ts): the horizon from
// open-loop error, the exploration temperature from disagreement, the penalty weight from calibration; and
// acting at a temperature (src/rl/explore.ts).
import { describe, expect, it } from 'vitest';
import { ActorCritic } from '../src/rl/actor-critic.ts';
import {
  chooseHorizon,
  explorationTemperature,
  fallWithReturn,
  uncertaintyWeight,
} from '../src/rl/dynamic-hyperparameters.ts';
import { exploringActions } from '../src/rl/explore.ts';
import type { RlActionSpace } from '../src/rl/vector-env.ts';
import type { HorizonError } from '../src/rl/world-model/diagnostics/predictions.ts';
import { Rng } from '../src/tensor/index.ts';

/** Open-loop errors with the given scalar at each horizon (null: no trajectory lasted that long). */
function errors(scalars: Record<number, number | null>): HorizonError[] {
  return Object.entries(scalars).map(([h, scalar]) => ({
    horizon: Number(h),
    trajectories: scalar === null ? 0 : 10,
    rmse: [],
    scalar,
  }));
}

describe('chooseHorizon', () => {
  const candidates = [5, 10, 20, 30, 50];

  it('takes the largest candidate whose error passes the limit', () => {
    expect(chooseHorizon(errors({ 5: 0.1, 10: 0.2, 20: 0.3, 30: 0.45, 50: 0.7 }), candidates, 0.5, 10)).toBe(
      30,
    );
    expect(chooseHorizon(errors({ 5: 0.1, 10: 0.2, 20: 0.3, 30: 0.4, 50: 0.49 }), candidates, 0.5, 10)).toBe(
      50,
    );
    // The limit is strict: an error equal to it fails.
    expect(chooseHorizon(errors({ 5: 0.1, 10: 0.5, 20: 0.3 }), candidates, 0.5, 10)).toBe(5);
    // Candidates in any order; errors at horizons that are not candidates are ignored.
    expect(chooseHorizon(errors({ 1: 0.9, 5: 0.1, 10: 0.2, 20: 0.6 }), [20, 5, 10], 0.5, 99)).toBe(10);
  });

  it('stops at the first failing horizon, even when a longer one passes again', () => {
    expect(chooseHorizon(errors({ 5: 0.1, 10: 0.8, 20: 0.2, 30: 0.1, 50: 0.1 }), candidates, 0.5, 30)).toBe(
      5,
    );
    // A non-finite error fails too.
    expect(chooseHorizon(errors({ 5: 0.1, 10: 0.2, 20: Number.NaN, 30: 0.1 }), candidates, 0.5, 30)).toBe(10);
  });

  it('skips horizons that could not be measured, and falls back when none could', () => {
    // 20 unmeasured (episodes too short): 30 still counts.
    expect(chooseHorizon(errors({ 5: 0.1, 10: 0.2, 20: null, 30: 0.3, 50: null }), candidates, 0.5, 7)).toBe(
      30,
    );
    expect(chooseHorizon(errors({ 5: null, 10: null, 20: null }), candidates, 0.5, 7)).toBe(7);
    expect(chooseHorizon([], candidates, 0.5, 7)).toBe(7);
  });

  it('takes the smallest candidate when none passes', () => {
    expect(chooseHorizon(errors({ 5: 0.9, 10: 1.2, 20: 2 }), [20, 10, 5], 0.5, 7)).toBe(5);
    expect(() => chooseHorizon(errors({ 5: 0.1 }), [], 0.5, 7)).toThrow(/no candidate horizons/);
  });
});

describe('explorationTemperature', () => {
  it('runs from the start value (disagreement as high as the first) down to the floor (none left)', () => {
    expect(explorationTemperature(0.4, 0.4, 1.5, 1)).toBe(1.5);
    expect(explorationTemperature(0, 0.4, 1.5, 1)).toBe(1);
    expect(explorationTemperature(0.2, 0.4, 1.5, 1)).toBeCloseTo(1.25, 12);
  });

  it('stays within [floor, start] and never rises as disagreement falls', () => {
    // More disagreement than at first is clipped to the start value.
    expect(explorationTemperature(4, 0.4, 1.5, 1)).toBe(1.5);
    let previous = Number.POSITIVE_INFINITY;
    for (let d = 1; d >= 0; d -= 0.05) {
      const t = explorationTemperature(d, 0.5, 2, 0.5);
      expect(t).toBeGreaterThanOrEqual(0.5);
      expect(t).toBeLessThanOrEqual(2);
      expect(t).toBeLessThanOrEqual(previous);
      previous = t;
    }
  });

  it('keeps the start value when disagreement cannot be compared', () => {
    expect(explorationTemperature(0.1, 0, 1.5, 1)).toBe(1.5);
    expect(explorationTemperature(Number.NaN, 0.4, 1.5, 1)).toBe(1.5);
    expect(explorationTemperature(0.1, Number.NaN, 1.5, 1)).toBe(1.5);
  });
});

describe('fallWithReturn', () => {
  it('falls from the start to the floor as the exploring return crosses [low, high], clipped outside', () => {
    expect(fallWithReturn(-150, 0.01, 0.001, 0, 200)).toBe(0.01);
    expect(fallWithReturn(0, 0.01, 0.001, 0, 200)).toBe(0.01);
    expect(fallWithReturn(100, 0.01, 0.001, 0, 200)).toBeCloseTo(0.0055, 12);
    expect(fallWithReturn(200, 0.01, 0.001, 0, 200)).toBeCloseTo(0.001, 12);
    expect(fallWithReturn(260, 0.01, 0.001, 0, 200)).toBeCloseTo(0.001, 12);
  });

  it('keeps the start before any episode has finished or when the range is empty', () => {
    expect(fallWithReturn(null, 0.01, 0.001, 0, 200)).toBe(0.01);
    expect(fallWithReturn(Number.NaN, 0.01, 0.001, 0, 200)).toBe(0.01);
    expect(fallWithReturn(150, 0.01, 0.001, 200, 200)).toBe(0.01);
  });

  it('is fixed when the floor equals the start', () => {
    for (const r of [-100, 0, 120, 300]) expect(fallWithReturn(r, 0.01, 0.01, 0, 200)).toBe(0.01);
  });
});

describe('uncertaintyWeight', () => {
  it('scales the base weight by the calibration clipped to [0, 1]', () => {
    expect(uncertaintyWeight(2, 0.25)).toBe(0.5);
    expect(uncertaintyWeight(2, 1)).toBe(2);
    expect(uncertaintyWeight(2, 1.7)).toBe(2);
    expect(uncertaintyWeight(2, -0.3)).toBe(0);
    expect(uncertaintyWeight(0, 0.8)).toBe(0);
  });

  it('keeps the base weight when the calibration is unknown', () => {
    expect(uncertaintyWeight(1.5, null)).toBe(1.5);
    expect(uncertaintyWeight(1.5, Number.NaN)).toBe(1.5);
  });
});

describe('exploringActions', () => {
  function policy(actionSpace: RlActionSpace, seed = 3): ActorCritic {
    return new ActorCritic({
      observationSize: 3,
      actionSpace,
      hiddenSizes: [8],
      initialLogStd: -0.5,
      normalizeObservations: false,
      rng: new Rng(seed),
    });
  }

  /** A policy whose actor outputs `bias` whatever the observation. */
  function constantPolicy(actionSpace: RlActionSpace, bias: number[]): ActorCritic {
    const p = policy(actionSpace);
    const last = p.actor.layers.at(-1)!;
    last.weight.data.fill(0);
    last.bias!.data.set(bias);
    return p;
  }

  const rows = 4000;
  const observations = (seed: number, n = rows) => new Rng(seed).fillUniform(new Float32Array(n * 3), -2, 2);

  function frequencies(actions: Float32Array, n: number): number[] {
    const counts = new Array(n).fill(0);
    for (const a of actions) counts[a]++;
    return counts.map((c) => c / actions.length);
  }

  it('acts greedily at temperature 0, drawing nothing', () => {
    const p = policy({ n: 4 });
    // Larger logits than the 0.01 head gain gives, so observations pick different actions.
    for (const t of p.actor.layers.at(-1)!.weight.data.keys()) p.actor.layers.at(-1)!.weight.data[t]! *= 300;
    const obs = observations(1, 64);
    const rng = new Rng(5);
    const before = rng.getState();
    const greedy = exploringActions(p, obs, 0, rng, new Float32Array(64));
    expect(rng.getState()).toEqual(before);
    expect(Array.from(greedy)).toEqual(Array.from(p.act(obs)));
    expect(new Set(greedy).size).toBeGreaterThan(1);
    // A temperature near 0 samples the greedy action.
    expect(Array.from(exploringActions(p, obs, 1e-4, new Rng(6), new Float32Array(64)))).toEqual(
      Array.from(greedy),
    );
  });

  it('spreads discrete actions more at a higher temperature, as logits / T says', () => {
    // Logits [2, 0, 0, 0]: P(0) = e^(2/T) / (e^(2/T) + 3).
    const p = constantPolicy({ n: 4 }, [2, 0, 0, 0]);
    const obs = observations(2);
    let previousEntropy = -1;
    for (const t of [0.5, 1, 2, 8]) {
      const f = frequencies(exploringActions(p, obs, t, new Rng(7), new Float32Array(rows)), 4);
      const expected = Math.exp(2 / t) / (Math.exp(2 / t) + 3);
      expect(f[0]).toBeCloseTo(expected, 1);
      const entropy = -f.reduce((s, q) => s + (q > 0 ? q * Math.log(q) : 0), 0);
      expect(entropy).toBeGreaterThan(previousEntropy);
      previousEntropy = entropy;
    }
    expect(previousEntropy).toBeGreaterThan(0.95 * Math.log(4));
  });

  it('scales a continuous policy std by the temperature and clips actions to the box', () => {
    const box = { shape: [2], low: [-1, -0.5], high: [1, 0.5] };
    const p = constantPolicy(box, [0.2, 0]);
    const obs = observations(3);
    const spread = (t: number) => {
      const a = exploringActions(p, obs, t, new Rng(8), new Float32Array(rows * 2));
      const outside = a.filter((v, i) => !(v >= box.low[i % 2]! && v <= box.high[i % 2]!));
      expect(outside.length).toBe(0);
      let sum = 0;
      let sumSq = 0;
      for (let i = 0; i < rows; i++) {
        sum += a[i * 2]!;
        sumSq += a[i * 2]! ** 2;
      }
      return { mean: sum / rows, std: Math.sqrt(sumSq / rows - (sum / rows) ** 2), actions: a };
    };
    // std exp(-0.5) = 0.61 at T = 1 (rarely clipped on the first dimension); half at T = 0.5.
    const cool = spread(0.5);
    const warm = spread(1);
    expect(cool.mean).toBeCloseTo(0.2, 1);
    expect(cool.std).toBeCloseTo(0.5 * Math.exp(-0.5), 1);
    expect(warm.std).toBeGreaterThan(1.5 * cool.std);
    // Hot: most draws land outside the box and are clipped to its edges.
    const hot = spread(20).actions;
    let atEdge = 0;
    for (const a of hot) if (Math.abs(a) === 1 || Math.abs(a) === 0.5) atEdge++;
    expect(atEdge / hot.length).toBeGreaterThan(0.9);
    // Temperature 0 is the clipped mean.
    const greedy = exploringActions(p, obs.subarray(0, 6), 0, new Rng(9), new Float32Array(4));
    expect(Array.from(greedy)).toEqual([0.2, 0, 0.2, 0].map(Math.fround));
  });

  it('refuses a temperature that is negative or not finite, naming it', () => {
    const p = policy({ n: 4 });
    const obs = observations(4, 2);
    for (const t of [-0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => exploringActions(p, obs, t, new Rng(1), new Float32Array(2))).toThrow(
        new RegExp(`temperature = ${t}`),
      );
    }
  });
});
