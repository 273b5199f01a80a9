import { describe, expect, it } from 'vitest';
import { isFastSolverInstalled, useStockSolver } from '../src/env/fast-solver.ts';
import { type TrajectoryOptions, trajectoryHash } from './helpers/env-trajectory.ts';

/** The trajectory hash with planck's own RevoluteJoint velocity solver in place of ours. */
function stockHash(options: TrajectoryOptions) {
  useStockSolver(true);
  try {
    const result = trajectoryHash(options);
    expect(isFastSolverInstalled()).toBe(false);
    return result;
  } finally {
    useStockSolver(false);
  }
}

describe('allocation-free revolute-joint velocity solver', () => {
  it('gives bit-identical trajectories to stock planck (crashes, landings at rest, wind, both modes)', () => {
    const cases: TrajectoryOptions[] = [
      { seed: 1, episodes: 4 },
      { seed: 2, episodes: 3, continuous: true },
      { seed: 3, episodes: 3, enableWind: true },
      { seed: 4, episodes: 3, continuous: true, enableWind: true, actionSeed: 5 },
      { seed: 5, episodes: 2, policy: 'heuristic' },
      { seed: 6, episodes: 2, policy: 'heuristic', continuous: true },
    ];
    for (const options of cases) {
      const fast = trajectoryHash(options);
      expect(isFastSolverInstalled()).toBe(true);
      expect(stockHash(options)).toEqual(fast);
    }
  });
});
