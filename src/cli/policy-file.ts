/**
 * A lone `policy.safetensors` (downloaded from the web page, or taken out of a run's checkpoint) as a
 * policy for `npm run eval`: the env comes from the file's metadata (the page writes envId and envOptions)
 * or from `--env` / `--wind`, which also override it.
 */
import { readFileSync } from 'node:fs';
import { ENV_IDS, type EnvId, LunarLander, type LunarLanderOptions, optionsForId } from '../env/index.ts';
import { decodeSafetensors } from '../nn/index.ts';
import type { ActorCritic } from '../rl/actor-critic.ts';
import { policyFromSafetensors } from '../rl/policy-file.ts';

export interface LoadedPolicyFile {
  policy: ActorCritic;
  envId: EnvId;
  envOptions: LunarLanderOptions;
  metadata: Record<string, string>;
}

export function loadPolicyFile(file: string, envFlag?: EnvId, wind?: boolean): LoadedPolicyFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new Error(`eval: cannot read ${file}: ${(e as Error).message}`);
  }
  // The metadata first: it names the env, which fixes the policy's shape.
  const { metadata } = decodeSafetensors(bytes, file);
  const envId = envFlag ?? (metadata.envId as EnvId | undefined);
  if (envId === undefined) {
    throw new Error(
      `eval: ${file} does not say which env it is for (no envId in its metadata); pass --env ${ENV_IDS.join(' or --env ')}`,
    );
  }
  if (!ENV_IDS.includes(envId)) {
    throw new Error(`eval: ${file} names env '${envId}'; expected one of ${ENV_IDS.join(', ')}`);
  }
  const saved = envFlag === undefined && metadata.envOptions ? parseOptions(metadata.envOptions, file) : {};
  const envOptions = optionsForId(envId, { ...saved, ...(wind === undefined ? {} : { enableWind: wind }) });
  const probe = new LunarLander(envOptions);
  const { policy } = policyFromSafetensors(
    bytes,
    { observationSize: probe.observationSpace.shape[0]!, actionSpace: probe.actionSpace },
    file,
  );
  return { policy, envId, envOptions, metadata };
}

function parseOptions(text: string, file: string): LunarLanderOptions {
  try {
    return JSON.parse(text) as LunarLanderOptions;
  } catch (e) {
    throw new Error(`eval: ${file} has envOptions metadata that is not JSON: ${(e as Error).message}`);
  }
}
