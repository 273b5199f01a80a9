/**
 * A policy's trial on the real env: greedy episodes, one after another on one real copy, each from its own
 * seed. The model-based loop tries every policy PPO trained in the model this way before it keeps it
 * (simple.ts, step 5): a trial's steps are real steps, counted against the budget and kept as data.
 */
import type { ActorCritic } from './actor-critic.ts';
import { actionSize, type RlVectorEnv, type RlVectorStep } from './vector-env.ts';

export interface TrialResult {
  /** The return of every episode that ended within the step allowance, in seed order. */
  returns: number[];
  /** Real steps taken, those of an episode the allowance cut off included. */
  steps: number;
  /** Whether the allowance ran out before the last episode ended. */
  cut: boolean;
}

/** Receives every step a trial takes (what the policy saw, what it did, what came of it). */
export type TrialStepSink = (observation: Float32Array, action: Float32Array, result: RlVectorStep) => void;

/**
 * Runs `policy` greedily for one episode per seed on `env` (one copy), at most `maxSteps` real steps in all.
 * `onStep` sees each step; `onCut` is called when the allowance ends an episode midway.
 */
export function runTrial(
  policy: ActorCritic,
  env: RlVectorEnv,
  seeds: readonly number[],
  maxSteps: number,
  onStep: TrialStepSink,
  onCut: () => void = () => {},
): TrialResult {
  if (env.numEnvs !== 1) throw new Error(`runTrial: the env has ${env.numEnvs} copies; expected 1`);
  if (env.imagined) throw new Error('runTrial: the env is an imagined one; a trial runs on the real env');
  const observation = new Float32Array(env.observationSize);
  const action = new Float32Array(actionSize(env.actionSpace));
  const returns: number[] = [];
  let steps = 0;
  for (const seed of seeds) {
    observation.set(env.reset(seed).observations);
    for (;;) {
      if (steps >= maxSteps) {
        onCut();
        return { returns, steps, cut: true };
      }
      policy.act(observation, action);
      const result = env.step(action);
      onStep(observation, action, result);
      steps++;
      if (result.terminated[0] || result.truncated[0]) {
        returns.push(result.episodeReturns[0]!);
        break;
      }
      observation.set(result.observations);
    }
  }
  return { returns, steps, cut: false };
}

/** The most episodes a trial's seeds stay apart from the evaluation's for (see `trialSeeds`). */
export const MAX_TRIAL_EPISODES = 100;

/**
 * The trial's seeds for one iteration: distinct per episode, below 1e9 so they never meet the evaluation's
 * seeds (1e9 on) for up to `MAX_TRIAL_EPISODES` episodes.
 */
export function trialSeeds(iterationSeed: number, episodes: number): number[] {
  if (!Number.isSafeInteger(episodes) || episodes < 0 || episodes > MAX_TRIAL_EPISODES) {
    throw new Error(`trialSeeds: episodes = ${episodes}; expected an integer in [0, ${MAX_TRIAL_EPISODES}]`);
  }
  const base = 100_000_000 + (iterationSeed % 800_000_000);
  return Array.from({ length: episodes }, (_, k) => base + k * 1_000_003);
}
