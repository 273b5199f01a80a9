/**
 * Box2D's sleep rule as a known termination function of the lander's observations (model-env-config.ts,
 * `restRule: 'sleep'`): a body falls asleep, and Gymnasium's episode ends at rest (+100), once it has been
 * still for 0.5 s, and any engine impulse wakes it. From observations alone: the velocities under a
 * tolerance and no engine fired, for a number of steps in a row. The leg-contact flags are not asked for:
 * Gymnasium's EndContact clears a leg's flag when it leaves one terrain edge even while it stands on the
 * next, so real landers come to rest with a flag down (measured: 43 of 98 heuristic landings ended at rest
 * with at least one flag 0, 21 with both), and the model learns that from them. Nothing but the ground holds
 * a lander still for several steps with its engines off: gravity alone changes vy by about 0.027 a step, so
 * a still step counts toward rest only within a run of `supportedStillSteps` or more (free fall manages 2).
 */
import { OBSERVATION_SIZE } from './lander-layout.ts';
import { fuelCost } from './lander-reward.ts';
import type { StartSet } from './start-states.ts';

/** The sleep rule's tolerances (model-env-config.ts documents the defaults). */
export interface SleepTolerance {
  sleepSpeed: number;
  sleepSpin: number;
}

/**
 * vy's change per step in free fall, in observation units: Gymnasium's default gravity of 10 m/s^2 over one
 * step of 1/50 s, times the observation's scale for vy, (VIEWPORT_H / SCALE / 2) / FPS = (400 / 30 / 2) / 50.
 */
export const FREE_FALL_VY_PER_STEP = (10 / 50) * (400 / 30 / 2 / 50);

/**
 * The fewest still steps in a row that free fall cannot string together: at the top of a hop vy passes
 * through 0 and stays under the tolerance for at most floor(2 sleepSpeed / g) + 1 steps (2 at the default
 * 0.02). Only a lander that something holds up, the ground, reaches this count with its engines off.
 */
export function supportedStillSteps(t: SleepTolerance): number {
  return Math.floor((2 * t.sleepSpeed) / FREE_FALL_VY_PER_STEP) + 2;
}

/** Nearly still: the observation at `base` passes the sleep rule's test. */
export function standsStill(obs: ArrayLike<number>, base: number, t: SleepTolerance): boolean {
  return (
    Math.abs(obs[base + 2]!) < t.sleepSpeed &&
    Math.abs(obs[base + 3]!) < t.sleepSpeed &&
    Math.abs(obs[base + 5]!) < t.sleepSpin
  );
}

/** Whether an action fires an engine (any fuel spent), which wakes the body. */
export function engineFires(discrete: boolean, actions: ArrayLike<number>, offset: number): boolean {
  return fuelCost(discrete, actions, offset) > 0;
}

/**
 * For each start of a branched start set, the real steps in a row, just before it, that the lander stood
 * still with no engine firing (a step counts by the state it led to and its action), so an imagined
 * rollout from a lander already resting on the pad does not start its count again from zero. 0 for starts
 * without history.
 */
export function stillStepsBefore(starts: StartSet, discrete: boolean, t: SleepTolerance): Int32Array {
  const S = starts.observations.length / OBSERVATION_SIZE;
  const out = new Int32Array(S);
  const history = starts.history;
  if (!history) return out;
  const { k } = history;
  const width = history.actions.length / Math.max(1, S * k);
  for (let s = 0; s < S; s++) {
    let count = 0;
    // Walk back from the last real step; the state after step j is step j + 1's observation, or the start.
    for (let j = k - 1; j >= k - history.counts[s]!; j--) {
      const after = j === k - 1 ? starts.observations : history.observations;
      const base = j === k - 1 ? s * OBSERVATION_SIZE : (s * k + j + 1) * OBSERVATION_SIZE;
      if (!standsStill(after, base, t) || engineFires(discrete, history.actions, (s * k + j) * width)) break;
      count++;
    }
    out[s] = count;
  }
  return out;
}
