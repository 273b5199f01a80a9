/**
 * A small lander-like system with known dynamics, for world-model tests: the 8-number observation of the
 * real lander, 4 discrete actions, gravity, a main engine and side thrusters, leg contacts near the ground,
 * and a rare terminal event: touching down fast is a crash (-100), slowly a landing at rest (+100).
 */
import type { EpisodeTransitions } from '../../src/rl/world-model/dynamics-model.ts';
import { LanderScalers, type ModelData, prepareModelData } from '../../src/rl/world-model/model-data.ts';
import { Rng } from '../../src/tensor/index.ts';

export const SYNTHETIC_EPISODE_STEPS = 60;

/** The next observation, reward and termination of the synthetic system. */
export function syntheticStep(
  s: ArrayLike<number>,
  action: number,
  noise: number,
): { next: number[]; reward: number; terminated: boolean } {
  const side = action === 1 ? -1 : action === 3 ? 1 : 0;
  const vx = s[2]! + 0.02 * side;
  const vy = s[3]! - 0.03 + (action === 2 ? 0.06 : 0) + noise;
  const x = s[0]! + vx;
  const y = s[1]! + vy;
  const w = 0.9 * s[5]! - 0.05 * side;
  const angle = s[4]! + w;
  const contact = y < 0.1 ? 1 : 0;
  const next = [x, y, vx, vy, angle, w, contact, contact];
  if (y <= 0) return { next, reward: Math.abs(vy) > 0.12 ? -100 : 100, terminated: true };
  const reward = -10 * (Math.abs(x) - Math.abs(s[0]!)) - (action === 2 ? 0.3 : 0);
  return { next, reward, terminated: false };
}

/** `episodes` episodes under a random policy that fires the main engine with probability `mainProb`. */
export function syntheticTransitions(episodes: number, seed: number, mainProb = 0.45): EpisodeTransitions {
  const rng = new Rng(seed);
  const obs: number[] = [];
  const next: number[] = [];
  const actions: number[] = [];
  const rewards: number[] = [];
  const terminated: number[] = [];
  const ids: number[] = [];
  const steps: number[] = [];
  for (let e = 0; e < episodes; e++) {
    let s = [rng.uniform(-0.5, 0.5), rng.uniform(1, 1.5), rng.uniform(-0.05, 0.05), 0, 0, 0, 0, 0];
    for (let t = 0; t < SYNTHETIC_EPISODE_STEPS; t++) {
      const u = rng.uniform();
      const a =
        u < mainProb
          ? 2
          : u < mainProb + (1 - mainProb) / 3
            ? 0
            : u < mainProb + (2 * (1 - mainProb)) / 3
              ? 1
              : 3;
      const step = syntheticStep(s, a, 0.005 * rng.normal());
      obs.push(...s);
      next.push(...step.next);
      actions.push(a);
      rewards.push(step.reward);
      terminated.push(step.terminated ? 1 : 0);
      ids.push(e);
      steps.push(t);
      if (step.terminated) break;
      s = step.next;
    }
  }
  return {
    count: actions.length,
    observations: Float32Array.from(obs),
    actions: Float32Array.from(actions),
    rewards: Float32Array.from(rewards),
    nextObservations: Float32Array.from(next),
    terminated: Uint8Array.from(terminated),
    episodes: Int32Array.from(ids),
    steps: Int32Array.from(steps),
  };
}

/**
 * `syntheticTransitions(episodes, seed)` and the discrete lander's model rows of them (scalers fitted to the
 * same transitions), for tests of a model's loss.
 */
export function syntheticModelData(
  episodes: number,
  seed: number,
): { t: EpisodeTransitions; data: ModelData } {
  const t = syntheticTransitions(episodes, seed);
  const scalers = new LanderScalers();
  scalers.fit(t);
  return { t, data: prepareModelData(t, { n: 4 }, scalers) };
}
