// Gymnasium's registration of the two ids (spec §1.1): both cap episodes at 1000 steps.
import { OBSERVATION_SIZE } from './constants.ts';
import { LunarLander, landerActionSpace } from './lunar-lander.ts';
import { type LunarLanderOptions, resolveOptions } from './options.ts';
import type { Box, Discrete } from './spaces.ts';

export const ENV_IDS = ['LunarLander-v3', 'LunarLanderContinuous-v3'] as const;
export type EnvId = (typeof ENV_IDS)[number];

/** Options for an id: `LunarLanderContinuous-v3` implies `continuous: true`. */
export function optionsForId(id: EnvId, options: LunarLanderOptions = {}): LunarLanderOptions {
  if (!(ENV_IDS as readonly string[]).includes(id)) {
    throw new RangeError(`makeEnv: unknown env id '${String(id)}'; expected one of ${ENV_IDS.join(', ')}`);
  }
  const continuous = id === 'LunarLanderContinuous-v3';
  if (options.continuous !== undefined && options.continuous !== continuous) {
    throw new RangeError(
      `makeEnv: option continuous = ${options.continuous} contradicts id '${id}'; expected ${continuous} or unset`,
    );
  }
  return { ...options, continuous };
}

export function makeEnv(id: EnvId, options: LunarLanderOptions = {}): LunarLander {
  return new LunarLander(optionsForId(id, options));
}

/** What a policy for a lander with `options` must fit: its observation size and action space. */
export function landerSpaces(options: LunarLanderOptions = {}): {
  observationSize: number;
  actionSpace: Box | Discrete;
} {
  return {
    observationSize: OBSERVATION_SIZE,
    actionSpace: landerActionSpace(resolveOptions(options).continuous),
  };
}

/**
 * An env as a file records it, in strings (a policy file's `envId` and `envOptions` metadata, the options as
 * JSON): the id checked and the options parsed. `source` (the file) is quoted in errors.
 */
export function envFromRecord(
  envId: string,
  envOptions: string | undefined,
  source: string,
): { envId: EnvId; envOptions: LunarLanderOptions } {
  if (!(ENV_IDS as readonly string[]).includes(envId)) {
    throw new Error(`${source} names env '${envId}'; expected one of ${ENV_IDS.join(', ')}`);
  }
  let options: unknown = {};
  if (envOptions !== undefined) {
    try {
      options = JSON.parse(envOptions);
    } catch (e) {
      throw new Error(`${source} has envOptions metadata that is not JSON: ${(e as Error).message}`);
    }
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new Error(`${source} has envOptions metadata ${envOptions}; expected a JSON object of env options`);
  }
  return { envId: envId as EnvId, envOptions: optionsForId(envId as EnvId, options as LunarLanderOptions) };
}
