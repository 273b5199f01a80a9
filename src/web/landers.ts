// The landers the page offers, as the env ids and options the CLI uses, so a policy trained here evaluates
// with `npm run eval` on the same env.
import { type EnvId, optionsForId } from '../env/make-env.ts';
import type { LunarLanderOptions } from '../env/options.ts';

export const LANDERS = ['discrete', 'continuous', 'wind'] as const;
export type LanderKind = (typeof LANDERS)[number];

export interface LanderEnv {
  envId: EnvId;
  envOptions: LunarLanderOptions;
}

export function landerEnv(kind: LanderKind): LanderEnv {
  switch (kind) {
    case 'discrete':
      return { envId: 'LunarLander-v3', envOptions: optionsForId('LunarLander-v3') };
    case 'continuous':
      return { envId: 'LunarLanderContinuous-v3', envOptions: optionsForId('LunarLanderContinuous-v3') };
    case 'wind':
      return { envId: 'LunarLander-v3', envOptions: optionsForId('LunarLander-v3', { enableWind: true }) };
    default:
      throw new Error(`lander '${String(kind)}' is not offered; expected one of ${LANDERS.join(', ')}`);
  }
}
