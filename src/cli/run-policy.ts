/**
 * The trained policy of a run folder, PPO's or the model-based loop's: rebuilt from config.json and the
 * weights of the newest checkpoint, or of the checkpoint of a given update (an iteration, for a model-based
 * run).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type EnvId, type LunarLanderOptions, landerSpaces } from '../env/index.ts';
import { loadModule } from '../nn/index.ts';
import { ActorCritic } from '../rl/actor-critic.ts';
import { simplePpoConfig } from '../rl/simple-config.ts';
import { Rng } from '../tensor/index.ts';
import { checkpointFolder, checkpointUpdates, latestCheckpoint, readJson, runPaths } from './run-folder.ts';
import type { PpoRunConfig } from './train.ts';
import { type PetsRunConfig, readPetsRunConfig } from './train-pets.ts';
import { readSimpleRunConfig, type SimpleRunConfig } from './train-simple.ts';

export type RunConfig = PpoRunConfig | SimpleRunConfig | PetsRunConfig;
/** The runs that train a policy (a PETS run plans every action instead). */
export type PolicyRunConfig = PpoRunConfig | SimpleRunConfig;
export const RUN_ALGORITHMS = ['ppo', 'simple', 'pets'] as const;
export type RunAlgorithm = (typeof RUN_ALGORITHMS)[number];

export interface RunPolicy {
  config: PolicyRunConfig;
  policy: ActorCritic;
  /** The checkpoint's update (PPO) or iteration (model-based). */
  update: number;
}

/** What a checkpoint is counted in, for messages: 'update' for PPO, 'iteration' for the model-based loop. */
export function checkpointUnit(config: Pick<RunConfig, 'algorithm'>): string {
  return config.algorithm === 'ppo' ? 'update' : 'iteration';
}

/** A short name of the algorithm, for titles. */
export function algorithmLabel(config: Pick<RunConfig, 'algorithm'>): string {
  return config.algorithm === 'simple'
    ? 'model-based PPO (simple)'
    : config.algorithm === 'pets'
      ? 'PETS (CEM planning)'
      : 'PPO';
}

/** A run folder's config.json, of any algorithm; an unknown one is an error naming those known. */
export function readRunConfig(dir: string): RunConfig {
  const config = readJson<{ algorithm?: string; envId?: EnvId }>(runPaths(dir).config, `run ${dir}`);
  switch (config.algorithm) {
    case 'ppo':
      return config as PpoRunConfig;
    case 'simple':
      return readSimpleRunConfig(dir);
    case 'pets':
      return readPetsRunConfig(dir);
    default:
      throw new Error(
        `run ${dir}: algorithm '${config.algorithm}' is not supported; expected one of ${RUN_ALGORITHMS.join(', ')}`,
      );
  }
}

export function loadRunPolicy(dir: string, update?: number): RunPolicy {
  const config = readRunConfig(dir);
  if (config.algorithm === 'pets') {
    throw new Error(
      `run ${dir}: a PETS run has no policy, it plans every action; evaluate it with npm run eval -- ${dir} --planner cem`,
    );
  }
  const checkpoint = update === undefined ? latestCheckpoint(dir) : checkpointOf(dir, update, config);
  if (!checkpoint) {
    throw new Error(
      `run ${dir}: no checkpoint yet; train it first (npm run train -- ${config.algorithm} --out ${dir})`,
    );
  }
  const policy = makePolicy(config, config.envOptions);
  loadModule(join(checkpoint.path, 'policy.safetensors'), policy);
  return { config, policy, update: checkpoint.update };
}

/** An untrained policy of the run's shape (its weights come from a checkpoint). */
function makePolicy(config: PolicyRunConfig, envOptions: LunarLanderOptions): ActorCritic {
  const ppo = config.algorithm === 'simple' ? simplePpoConfig(config.simple, 1) : config.ppo;
  return new ActorCritic({
    ...landerSpaces(envOptions),
    hiddenSizes: ppo.hiddenSizes,
    initialLogStd: ppo.initialLogStd,
    normalizeObservations: ppo.normalizeObservations,
    rng: new Rng(0),
  });
}

/** The checkpoint of `update`; a missing one is an error listing those the run still holds. */
function checkpointOf(dir: string, update: number, config: RunConfig): { update: number; path: string } {
  const path = checkpointFolder(dir, update);
  if (!existsSync(join(path, 'policy.safetensors'))) {
    const held = checkpointUpdates(dir);
    throw new Error(
      `run ${dir}: no checkpoint of ${checkpointUnit(config)} ${update}; expected one of ` +
        `${held.length > 0 ? held.join(', ') : '(none: the run has no checkpoint yet)'}`,
    );
  }
  return { update, path };
}
