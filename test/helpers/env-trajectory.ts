// A fingerprint of a Lunar Lander trajectory, for determinism tests within and across processes: every
// step's float64 state and reward, plus every body's position and velocity, hashed with SHA-256.
import { createHash } from 'node:crypto';
import { heuristicAction } from '../../src/env/heuristic.ts';
import { LunarLander } from '../../src/env/lunar-lander.ts';
import { Rng } from '../../src/rng/index.ts';

export interface TrajectoryOptions {
  seed: number;
  /** Episodes to run back to back (reset without a seed after the first, so the generator carries on). */
  episodes: number;
  continuous?: boolean;
  enableWind?: boolean;
  /** Seed of the random action sequence. */
  actionSeed?: number;
  /** 'random' (default) or the reference heuristic, which lands and comes to rest. */
  policy?: 'random' | 'heuristic';
}

export function trajectoryHash(options: TrajectoryOptions): { hash: string; steps: number } {
  const env = new LunarLander({
    continuous: options.continuous ?? false,
    enableWind: options.enableWind ?? false,
  });
  const actions = new Rng(options.actionSeed ?? 1);
  const hash = createHash('sha256');
  const scratch = new Float64Array(1 + 3 * 6);
  let steps = 0;
  for (let episode = 0; episode < options.episodes; episode++) {
    env.reset(episode === 0 ? { seed: options.seed } : {});
    hash.update(new Uint8Array(env.stateFloat64.slice().buffer));
    for (;;) {
      const continuous = options.continuous ?? false;
      const result =
        options.policy === 'heuristic'
          ? env.step(heuristicAction(env.stateFloat64, continuous))
          : continuous
            ? env.step([actions.uniform(-1, 1), actions.uniform(-1, 1)])
            : env.step(actions.integer(0, 4));
      steps++;
      const { lander, legs } = env.bodies;
      scratch[0] = result.reward;
      let k = 1;
      for (const body of [lander, legs[0], legs[1]]) {
        const p = body.getPosition();
        const v = body.getLinearVelocity();
        scratch[k++] = p.x;
        scratch[k++] = p.y;
        scratch[k++] = body.getAngle();
        scratch[k++] = v.x;
        scratch[k++] = v.y;
        scratch[k++] = body.getAngularVelocity();
      }
      hash.update(new Uint8Array(env.stateFloat64.slice().buffer));
      hash.update(new Uint8Array(scratch.buffer));
      if (result.terminated || result.truncated) break;
    }
  }
  return { hash: hash.digest('hex'), steps };
}
