/** The trained policy of a run folder: rebuilt from config.json and the newest checkpoint's weights. */
import { join } from 'node:path';
import { LunarLander } from '../env/index.ts';
import { loadModule } from '../nn/index.ts';
import { ActorCritic } from '../rl/actor-critic.ts';
import { Rng } from '../tensor/index.ts';
import { latestCheckpoint, readJson, runPaths } from './run-folder.ts';
import type { PpoRunConfig } from './train.ts';

export interface RunPolicy {
  config: PpoRunConfig;
  policy: ActorCritic;
  update: number;
}

export function loadRunPolicy(dir: string): RunPolicy {
  const config = readJson<PpoRunConfig>(runPaths(dir).config, `run ${dir}`);
  if (config.algorithm !== 'ppo') {
    throw new Error(`run ${dir}: algorithm '${config.algorithm}' is not supported; expected 'ppo'`);
  }
  const checkpoint = latestCheckpoint(dir);
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
