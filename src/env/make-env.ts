// Gymnasium's registration of the two ids (spec §1.1): both cap episodes at 1000 steps.
import { LunarLander } from './lunar-lander.ts';
import type { LunarLanderOptions } from './options.ts';

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
