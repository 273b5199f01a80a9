/**
 * A lone `policy.safetensors` (downloaded from the web page, or taken out of a run's checkpoint) as a
 * policy for `npm run eval`: the env comes from the file's metadata (the page writes envId and envOptions)
 * or from `--env` / `--wind`, which also override it.
 */
import { readFileSync } from 'node:fs';
import {
  ENV_IDS,
  type EnvId,
  envFromRecord,
  type LunarLanderOptions,
  landerSpaces,
  optionsForId,
} from '../env/index.ts';
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
    const error = e as NodeJS.ErrnoException;
    throw new Error(
      error.code === 'ENOENT'
        ? `eval: no such file ${file}; expected a policy.safetensors or a run folder`
        : `eval: cannot read ${file}: ${error.message}`,
    );
  }
  // The metadata first: it names the env, which fixes the policy's shape.
  const { metadata } = decodeSafetensors(bytes, file);
  const envId = envFlag ?? (metadata.envId as EnvId | undefined);
  if (envId === undefined) {
    throw new Error(
      `eval: ${file} does not say which env it is for (no envId in its metadata); pass --env ${ENV_IDS.join(' or --env ')}`,
    );
  }
  const saved = envFromRecord(
    envId,
    envFlag === undefined ? metadata.envOptions : undefined,
    `eval: ${file}`,
  );
  const envOptions = optionsForId(saved.envId, {
    ...saved.envOptions,
    ...(wind === undefined ? {} : { enableWind: wind }),
  });
  const { policy } = policyFromSafetensors(bytes, landerSpaces(envOptions), file);
  return { policy, envId: saved.envId, envOptions, metadata };
}
