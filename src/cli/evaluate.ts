/**
 * Evaluation of a policy on the real env: `episodes` episodes, each from its own seed, acting greedily
 * (the argmax action, or the Gaussian mean), all stepped together so the policy runs on one batch.
 * Seeds start at EVAL_SEED_BASE, far from the training seeds (the run seed plus the copy index).
 */
import { type EnvId, LunarLander, type LunarLanderOptions, optionsForId } from '../env/index.ts';
import type { ActorCritic } from '../rl/actor-critic.ts';
import type { MpcController } from '../rl/mpc-controller.ts';

export const EVAL_SEED_BASE = 1_000_000_000;
/** The return at which an episode counts as solved (Gymnasium's LunarLander threshold). */
export const SOLVED_RETURN = 200;

export interface EvalSummary {
  episodes: number;
  seeds: [number, number];
  meanReturn: number;
  stdReturn: number;
  minReturn: number;
  medianReturn: number;
  maxReturn: number;
  /** Fraction of episodes with return >= 200. */
  solvedFraction: number;
  meanLength: number;
  returns: number[];
  lengths: number[];
}

export function evaluatePolicy(
  policy: ActorCritic,
  envId: EnvId,
  envOptions: LunarLanderOptions,
  episodes: number,
  seedBase = EVAL_SEED_BASE,
): EvalSummary {
  if (!Number.isSafeInteger(episodes) || episodes < 1) {
    throw new Error(`evaluate: episodes = ${episodes} is invalid; expected a positive integer`);
  }
  const envs = Array.from({ length: episodes }, () => new LunarLander(optionsForId(envId, envOptions)));
  const obsSize = policy.observationSize;
  const actSize = policy.discrete ? 1 : policy.actionOutputs;
  const returns = new Array<number>(episodes).fill(0);
  const lengths = new Array<number>(episodes).fill(0);
  let active = envs.map((_, i) => i);
  const observations = new Float32Array(episodes * obsSize);
  envs.forEach((env, i) => {
    env.reset({ seed: seedBase + i });
    env.writeObservation(observations, i * obsSize);
  });
  const actions = new Float32Array(episodes * actSize);
  while (active.length > 0) {
    const batch = new Float32Array(active.length * obsSize);
    active.forEach((i, row) => {
      batch.set(observations.subarray(i * obsSize, (i + 1) * obsSize), row * obsSize);
    });
    policy.act(batch, actions.subarray(0, active.length * actSize));
    const still: number[] = [];
    active.forEach((i, row) => {
      const env = envs[i]!;
      const reward = policy.discrete
        ? env.stepInPlace(actions[row]!, 0, 0)
        : env.stepInPlace(0, actions[row * actSize]!, actions[row * actSize + 1]!);
      returns[i]! += reward;
      lengths[i]! += 1;
      env.writeObservation(observations, i * obsSize);
      if (!env.terminated && !env.truncated) still.push(i);
    });
    active = still;
  }
  return summarize(returns, lengths, [seedBase, seedBase + episodes - 1]);
}

/** What a planner's evaluation adds: the time it took to plan each action. */
export interface PlannerEvalSummary extends EvalSummary {
  /** Mean milliseconds of planning per real action. */
  msPerAction: number;
  actions: number;
}

/**
 * Evaluation of a planner on the real env: as `evaluatePolicy`, an episode per seed, but one episode at a
 * time, since a planner carries its last plan (and the lander's still steps) from step to step.
 */
export function evaluatePlanner(
  controller: MpcController,
  envId: EnvId,
  envOptions: LunarLanderOptions,
  episodes: number,
  seedBase = EVAL_SEED_BASE,
  onEpisode?: (episode: number, episodeReturn: number, length: number) => void,
): PlannerEvalSummary {
  if (!Number.isSafeInteger(episodes) || episodes < 1) {
    throw new Error(`evaluate: episodes = ${episodes} is invalid; expected a positive integer`);
  }
  const returns: number[] = [];
  const lengths: number[] = [];
  const seconds = controller.planSeconds;
  const planned = controller.plannedActions;
  for (let e = 0; e < episodes; e++) {
    const env = new LunarLander(optionsForId(envId, envOptions));
    env.reset({ seed: seedBase + e });
    controller.reset();
    const observation = new Float32Array(env.observationSpace.shape[0]!);
    let total = 0;
    let length = 0;
    while (!env.terminated && !env.truncated) {
      env.writeObservation(observation, 0);
      const action = controller.act(observation);
      total += env.continuous
        ? env.stepInPlace(0, action[0]!, action[1]!)
        : env.stepInPlace(action[0]!, 0, 0);
      length++;
    }
    returns.push(total);
    lengths.push(length);
    onEpisode?.(e, total, length);
  }
  const actions = controller.plannedActions - planned;
  return {
    ...summarize(returns, lengths, [seedBase, seedBase + episodes - 1]),
    msPerAction: ((controller.planSeconds - seconds) * 1000) / Math.max(1, actions),
    actions,
  };
}

export function summarize(returns: number[], lengths: number[], seeds: [number, number]): EvalSummary {
  const n = returns.length;
  const mean = returns.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  const sorted = [...returns].sort((a, b) => a - b);
  const median = n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  return {
    episodes: n,
    seeds,
    meanReturn: mean,
    stdReturn: std,
    minReturn: sorted[0]!,
    medianReturn: median,
    maxReturn: sorted[n - 1]!,
    solvedFraction: returns.filter((r) => r >= SOLVED_RETURN).length / n,
    meanLength: lengths.reduce((a, b) => a + b, 0) / n,
    returns,
    lengths,
  };
}

/** An evaluation as a metrics line's fields. */
export function evaluationFields(summary: EvalSummary): {
  evalMeanReturn: number;
  evalSolvedFraction: number;
} {
  return { evalMeanReturn: summary.meanReturn, evalSolvedFraction: summary.solvedFraction };
}

/**
 * An iteration's metrics with an evaluation: its own, or else one run now by `evaluate` (its time added to
 * `evalSeconds`), for a stop that must be ranked on (`--stop-at-steps`).
 */
export function withEvaluation<M extends { evalMeanReturn?: number; evalSeconds: number }>(
  metrics: M,
  evaluate: () => EvalSummary,
): M {
  if (metrics.evalMeanReturn !== undefined) return metrics;
  const started = performance.now();
  const fields = evaluationFields(evaluate());
  return { ...metrics, ...fields, evalSeconds: metrics.evalSeconds + (performance.now() - started) / 1000 };
}
