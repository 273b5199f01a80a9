// Constructor options of LunarLander and their validation, as the reference validates them (spec §1.1):
// gravity is asserted to lie in (-12, 0); wind and turbulence outside the recommended ranges only warn.
import {
  DEFAULT_GRAVITY,
  DEFAULT_MAX_EPISODE_STEPS,
  DEFAULT_TURBULENCE_POWER,
  DEFAULT_WIND_POWER,
} from './constants.ts';

export type RenderMode = 'svg';

export interface LunarLanderOptions {
  /** Continuous actions (Box(-1, 1, (2,))) instead of Discrete(4). Default false. */
  continuous?: boolean;
  /** Gravity in m/s², strictly between -12 and 0. Default -10. */
  gravity?: number;
  /** Wind and turbulence while no leg touches the ground. Default false. */
  enableWind?: boolean;
  /** Peak wind force; the reference recommends [0, 20]. Default 15. */
  windPower?: number;
  /** Peak turbulence torque; the reference recommends [0, 2]. Default 1.5. */
  turbulencePower?: number;
  /** Agent steps before `truncated` (Gymnasium's TimeLimit). Default 1000. */
  maxEpisodeSteps?: number;
  /** 'svg' enables exhaust particles and `render()`; without it no particle is ever simulated. */
  renderMode?: RenderMode | null;
}

export type ResolvedLunarLanderOptions = Required<Omit<LunarLanderOptions, 'renderMode'>> & {
  renderMode: RenderMode | null;
};

const KNOWN_KEYS = new Set([
  'continuous',
  'gravity',
  'enableWind',
  'windPower',
  'turbulencePower',
  'maxEpisodeSteps',
  'renderMode',
]);

export function resolveOptions(
  options: LunarLanderOptions = {},
  warn: (message: string) => void = console.warn,
): ResolvedLunarLanderOptions {
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new TypeError(
        `LunarLander: unknown option '${key}'; expected one of ${[...KNOWN_KEYS].join(', ')}`,
      );
    }
  }
  const continuous = options.continuous ?? false;
  const enableWind = options.enableWind ?? false;
  const gravity = options.gravity ?? DEFAULT_GRAVITY;
  const windPower = options.windPower ?? DEFAULT_WIND_POWER;
  const turbulencePower = options.turbulencePower ?? DEFAULT_TURBULENCE_POWER;
  const maxEpisodeSteps = options.maxEpisodeSteps ?? DEFAULT_MAX_EPISODE_STEPS;
  const renderMode = options.renderMode ?? null;

  requireBoolean('continuous', continuous);
  requireBoolean('enableWind', enableWind);
  requireFinite('gravity', gravity);
  requireFinite('windPower', windPower);
  requireFinite('turbulencePower', turbulencePower);
  if (!(gravity > -12.0 && gravity < 0.0)) {
    throw new RangeError(`LunarLander: gravity = ${gravity} is out of range; expected -12 < gravity < 0`);
  }
  if (windPower < 0.0 || windPower > 20.0) {
    warn(`LunarLander: windPower = ${windPower} is outside the recommended range [0, 20]`);
  }
  if (turbulencePower < 0.0 || turbulencePower > 2.0) {
    warn(`LunarLander: turbulencePower = ${turbulencePower} is outside the recommended range [0, 2]`);
  }
  if (!Number.isSafeInteger(maxEpisodeSteps) || maxEpisodeSteps < 1) {
    throw new RangeError(
      `LunarLander: maxEpisodeSteps = ${String(maxEpisodeSteps)} is invalid; expected a positive integer`,
    );
  }
  if (renderMode !== null && renderMode !== 'svg') {
    throw new RangeError(
      `LunarLander: renderMode = ${String(renderMode)} is invalid; expected 'svg' or null`,
    );
  }
  return { continuous, gravity, enableWind, windPower, turbulencePower, maxEpisodeSteps, renderMode };
}

function requireBoolean(name: string, value: unknown): void {
  if (typeof value !== 'boolean') {
    throw new TypeError(`LunarLander: ${name} = ${String(value)} is invalid; expected a boolean`);
  }
}

function requireFinite(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`LunarLander: ${name} = ${String(value)} is invalid; expected a finite number`);
  }
}
