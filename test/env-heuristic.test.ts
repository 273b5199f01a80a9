import { describe, expect, it } from 'vitest';
import { heuristicAction } from '../src/env/heuristic.ts';
import { LunarLander } from '../src/env/lunar-lander.ts';

/** Returns of the reference heuristic over seeds 0..episodes-1. */
function heuristicReturns(continuous: boolean, episodes: number): number[] {
  const env = new LunarLander({ continuous });
  const returns: number[] = [];
  for (let seed = 0; seed < episodes; seed++) {
    let observation = env.reset({ seed }).observation;
    let total = 0;
    for (;;) {
      const result = env.step(heuristicAction(observation, continuous));
      total += result.reward;
      observation = result.observation;
      if (result.terminated || result.truncated) break;
    }
    returns.push(total);
  }
  return returns;
}

describe('reference heuristic controller', () => {
  it('follows the reference rules on hand-made observations', () => {
    // High above the pad, level and still: the target height is 0.55|x|, so it lets the lander fall.
    expect(heuristicAction([0, 1, 0, 0, 0, 0, 0, 0], false)).toBe(0);
    // Falling fast near the pad: main engine.
    expect(heuristicAction([0, 0.2, 0, -1, 0, 0, 0, 0], false)).toBe(2);
    // Tilted left (positive angle) with no other need: fire the right engine (action 3).
    expect(heuristicAction([0, 0, 0, 0, 0.5, 0, 0, 0], false)).toBe(3);
    expect(heuristicAction([0, 0, 0, 0, -0.5, 0, 0, 0], false)).toBe(1);
    // A leg down: no angle correction, only damping of the vertical speed.
    expect(heuristicAction([0, 0, 0, 0, 0.5, 0, 1, 0], false)).toBe(0);
    expect(heuristicAction([0, 0.2, 0, -1, 0, 0, 0, 0], true)).toEqual([1, -0]);
    expect(heuristicAction([0, 0, 0, 0, 0.01, 0, 0, 0], true)).toEqual([-1, 0.1]);
    expect(() => heuristicAction([0, 0, 0], false)).toThrow(/3 elements; expected 8/);
  });

  for (const continuous of [false, true]) {
    it(`lands: mean >= 200 and >= 85% of 100 seeded episodes at >= 200 (${continuous ? 'continuous' : 'discrete'})`, () => {
      const returns = heuristicReturns(continuous, 100);
      const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
      const solved = returns.filter((r) => r >= 200).length / returns.length;
      expect(mean).toBeGreaterThanOrEqual(200);
      expect(solved).toBeGreaterThanOrEqual(0.85);
    });
  }
});
