/**
 * A policy's whole episodes inside a dynamics model, from given real initial states: the model env
 * (model-vector-env.ts) with copy i started from state i (`startOrder: 'sequential'`), no penalties
 * (lambdas 0), a horizon of the real episode limit, and its usual rules otherwise (the change and reward
 * drawn from the predicted Gaussian, the outcome drawn from its probabilities, |x| >= 1 a crash, an elite
 * drawn per step). All copies step together, one forward pass per step, until each copy's first episode
 * has ended; what the env starts after that is ignored.
 */
import type { DynamicsModel } from '../dynamics-model.ts';
import { OBSERVATION_SIZE, rawActionSize } from '../lander-layout.ts';
import type { ModelEnvConfig } from '../model-env-config.ts';
import { ModelVectorEnv } from '../model-vector-env.ts';

/** Fills `actions` (one raw action per row, flat) for observations [rows, 8]. */
export type PolicyAct = (observations: Float32Array, actions: Float32Array) => void;

/** How an episode ended: a crash (-100), at rest (+100), or cut off at the step limit. */
export type EpisodeEnding = 'crash' | 'rest' | 'truncated';

export interface EpisodeReturns {
  /** [episodes] return of each episode (the one from start state i at i). */
  returns: Float64Array;
  /** [episodes] its length in steps. */
  lengths: Int32Array;
  endings: EpisodeEnding[];
}

export interface ModelEpisodeOptions {
  /** Step limit of an episode (the real env's 1000). */
  maxSteps: number;
  /** Seed of the model env's draws. */
  seed: number;
  /** Other model env settings (defaults: model-env-config.ts). */
  config?: Partial<ModelEnvConfig>;
}

export function modelEpisodeReturns(
  model: DynamicsModel,
  startStates: Float32Array,
  act: PolicyAct,
  options: ModelEpisodeOptions,
): EpisodeReturns {
  const n = startStates.length / OBSERVATION_SIZE;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new Error(
      `modelEpisodeReturns: startStates holds ${startStates.length} numbers; expected a positive multiple of ${OBSERVATION_SIZE}`,
    );
  }
  const env = new ModelVectorEnv(
    model,
    { startStates, startOrder: 'sequential' },
    {
      ...options.config,
      numEnvs: n,
      horizon: options.maxSteps,
      lambdaUncertainty: 0,
      lambdaFamiliarity: 0,
      seed: options.seed,
    },
  );
  const returns = new Float64Array(n);
  const lengths = new Int32Array(n);
  const endings = new Array<EpisodeEnding>(n).fill('truncated');
  const done = new Uint8Array(n);
  let remaining = n;
  const observations = Float32Array.from(env.reset().observations);
  const actions = new Float32Array(n * rawActionSize(model.actionSpace));
  while (remaining > 0) {
    act(observations, actions);
    const step = env.step(actions);
    for (let i = 0; i < n; i++) {
      if (done[i] || !(step.terminated[i] || step.truncated[i])) continue;
      done[i] = 1;
      remaining--;
      returns[i] = step.episodeReturns[i]!;
      lengths[i] = step.episodeLengths[i]!;
      endings[i] = step.terminated[i] ? (step.rawRewards[i]! < 0 ? 'crash' : 'rest') : 'truncated';
    }
    observations.set(step.observations);
  }
  return { returns, lengths, endings };
}
