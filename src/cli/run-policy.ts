/**
 * The trained policy of a run folder: rebuilt from config.json and the weights of the newest checkpoint, or
 * of the checkpoint of a given update.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LunarLander } from '../env/index.ts';
import { loadModule } from '../nn/index.ts';
import { ActorCritic } from '../rl/actor-critic.ts';
import { Rng } from '../tensor/index.ts';
import { checkpointFolder, checkpointUpdates, latestCheckpoint, readJson, runPaths } from './run-folder.ts';
import type { PpoRunConfig } from './train.ts';

export interface RunPolicy {
  config: PpoRunConfig;
  policy: ActorCritic;
  update: number;
}

export function loadRunPolicy(dir: string, update?: number): RunPolicy {
  const config = readJson<PpoRunConfig>(runPaths(dir).config, `run ${dir}`);
  if (config.algorithm !== 'ppo') {
    throw new Error(`run ${dir}: algorithm '${config.algorithm}' is not supported; expected 'ppo'`);
  }
  const checkpoint = update === undefined ? latestCheckpoint(dir) : checkpointOf(dir, update);
  if (!checkpoint)
    throw new Error(`run ${dir}: no checkpoint yet; train it first (npm run train -- ppo --out ${dir})`);
  const probe = new LunarLander(config.envOptions);
  const policy = new ActorCritic({
    observationSize: probe.observationSpace.shape[0]!,
    actionSpace: probe.actionSpace,
    hiddenSizes: config.ppo.hiddenSizes,
    initialLogStd: config.ppo.initialLogStd,
    normalizeObservations: config.ppo.normalizeObservations,
    rng: new Rng(0),
  });
  loadModule(join(checkpoint.path, 'policy.safetensors'), policy);
  return { config, policy, update: checkpoint.update };
}

/** The checkpoint of `update`; a missing one is an error listing those the run still holds. */
function checkpointOf(dir: string, update: number): { update: number; path: string } {
  const path = checkpointFolder(dir, update);
  if (!existsSync(join(path, 'policy.safetensors'))) {
    const held = checkpointUpdates(dir);
    throw new Error(
      `run ${dir}: no checkpoint of update ${update}; expected one of ` +
        `${held.length > 0 ? held.join(', ') : '(none: the run has no checkpoint yet)'}`,
    );
  }
  return { update, path };
}
