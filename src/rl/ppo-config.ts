/**
 * PPO's hyperparameters in one typed config. The defaults are those known to solve LunarLander-v3 within
 * 1M steps (rl-baselines3-zoo's tuned PPO for LunarLander: 16 envs x 1024 steps, minibatch 64, 4 epochs,
 * gamma 0.999, lambda 0.98, entropy 0.01, constant learning rate 3e-4), with Stable-Baselines3's remaining
 * defaults.
 */
export interface PpoConfig {
  /** Total real environment steps to train for. */
  totalSteps: number;
  /** Steps collected per env per update (the rollout length T). */
  stepsPerEnv: number;
  /** Samples per gradient step. */
  minibatchSize: number;
  /** Passes over each rollout. */
  epochs: number;
  /** Discount. */
  gamma: number;
  /** GAE lambda (Schulman et al. 2016). */
  lambda: number;
  /** Clip range epsilon of the surrogate objective (Schulman et al. 2017, eq. 7). */
  clipRange: number;
  /** Clip the value loss around the old values as well (OpenAI baselines' variant); off by default. */
  clipValueLoss: boolean;
  /** Weight of the entropy bonus c2 (eq. 9). */
  entropyCoef: number;
  /** Weight of the value loss c1 (eq. 9). */
  valueCoef: number;
  /** Adam's learning rate at the start. */
  learningRate: number;
  /**
   * Decay the learning rate linearly to 0 over training (CleanRL's default). Off by default, as in
   * rl-baselines3-zoo: on LunarLander-v3 seed 1 a constant rate reached a greedy eval mean of 235 at 655k
   * steps where the annealed one was at 178.
   */
  annealLearningRate: boolean;
  /** Clip the global gradient norm to this value. */
  maxGradNorm: number;
  /**
   * A gradient step whose norm is not finite (NaN or infinite) is skipped and counted; this many skipped
   * in a row stop the run with an error.
   */
  maxSkippedSteps: number;
  /** Stop an update's epochs early once the approximate KL exceeds this; null never stops. */
  targetKl: number | null;
  /** Normalise advantages per minibatch. */
  normalizeAdvantages: boolean;
  /** Normalise observations with running statistics (saved with the policy). */
  normalizeObservations: boolean;
  /**
   * Keep the observation statistics as they are instead of folding in every observation: for training
   * in an imagined env, whose states must not shift the normaliser the real env's data set.
   */
  freezeObservationStats: boolean;
  /**
   * Scale rewards by the running standard deviation of the discounted return (Stable-Baselines3's
   * VecNormalize, which rl-baselines3-zoo turns on for the continuous lander).
   */
  normalizeRewards: boolean;
  /** Hidden layer sizes of the separate actor and critic MLPs. */
  hiddenSizes: number[];
  /** Temperature on the logits when sampling discrete actions (1 = the policy itself). */
  temperature: number;
  /** Initial log standard deviation of continuous actions. */
  initialLogStd: number;
  /** Seed for the environments, network initialisation and sampling. */
  seed: number;
}

export const defaultPpoConfig: Readonly<PpoConfig> = Object.freeze({
  totalSteps: 1_000_000,
  stepsPerEnv: 1024,
  minibatchSize: 64,
  epochs: 4,
  gamma: 0.999,
  lambda: 0.98,
  clipRange: 0.2,
  clipValueLoss: false,
  entropyCoef: 0.01,
  valueCoef: 0.5,
  learningRate: 3e-4,
  annealLearningRate: false,
  maxGradNorm: 0.5,
  maxSkippedSteps: 10,
  targetKl: null,
  normalizeAdvantages: true,
  normalizeObservations: false,
  freezeObservationStats: false,
  normalizeRewards: false,
  hiddenSizes: [64, 64],
  temperature: 1,
  initialLogStd: 0,
  seed: 1,
});

/**
 * Fields fixed once a run has started: the budget, the rollout length its state carries, the network's
 * shape and first weights, the normalisers its state keeps, and the seed. A resumed run may change any
 * other from its next update on (`npm run train -- ppo --resume <dir> --set key=value`).
 */
export const PPO_FIXED_DURING_RUN: readonly string[] = Object.freeze([
  'totalSteps',
  'stepsPerEnv',
  'hiddenSizes',
  'initialLogStd',
  'normalizeObservations',
  'normalizeRewards',
  'seed',
]);

type Check = [keyof PpoConfig, (v: never) => boolean, string];

const positiveInteger = (v: number): boolean => Number.isSafeInteger(v) && v > 0;
const unitInterval = (v: number): boolean => Number.isFinite(v) && v >= 0 && v <= 1;
const nonNegative = (v: number): boolean => Number.isFinite(v) && v >= 0;
const positive = (v: number): boolean => Number.isFinite(v) && v > 0;

const checks: Check[] = [
  ['totalSteps', positiveInteger, 'a positive integer'],
  ['stepsPerEnv', positiveInteger, 'a positive integer'],
  ['minibatchSize', positiveInteger, 'a positive integer'],
  ['epochs', positiveInteger, 'a positive integer'],
  ['gamma', unitInterval, 'a number in [0, 1]'],
  ['lambda', unitInterval, 'a number in [0, 1]'],
  ['clipRange', positive, 'a positive number'],
  ['clipValueLoss', (v: unknown) => typeof v === 'boolean', 'true or false'],
  ['entropyCoef', nonNegative, 'a non-negative number'],
  ['valueCoef', nonNegative, 'a non-negative number'],
  ['learningRate', positive, 'a positive number'],
  ['annealLearningRate', (v: unknown) => typeof v === 'boolean', 'true or false'],
  ['maxGradNorm', positive, 'a positive number'],
  ['maxSkippedSteps', positiveInteger, 'a positive integer'],
  ['targetKl', (v: number | null) => v === null || positive(v), 'null or a positive number'],
  ['normalizeAdvantages', (v: unknown) => typeof v === 'boolean', 'true or false'],
  ['normalizeObservations', (v: unknown) => typeof v === 'boolean', 'true or false'],
  ['freezeObservationStats', (v: unknown) => typeof v === 'boolean', 'true or false'],
  ['normalizeRewards', (v: unknown) => typeof v === 'boolean', 'true or false'],
  [
    'hiddenSizes',
    (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((d) => positiveInteger(d)),
    'a non-empty list of positive integers',
  ],
  ['temperature', positive, 'a positive number'],
  ['initialLogStd', (v: number) => Number.isFinite(v), 'a finite number'],
  ['seed', (v: number) => Number.isSafeInteger(v) && v >= 0, 'a non-negative integer'],
];

/**
 * Per-lander defaults on top of `defaultPpoConfig`: rl-baselines3-zoo normalises observations and rewards
 * for the continuous lander (its `normalize: true`), not for the discrete one.
 */
export function ppoDefaultsForLander(continuous: boolean): Partial<PpoConfig> {
  return continuous ? { normalizeObservations: true, normalizeRewards: true } : {};
}

/** The defaults overridden by `overrides`, checked: a bad value is an error naming it and what was expected. */
export function resolvePpoConfig(overrides: Partial<PpoConfig> = {}, numEnvs?: number): PpoConfig {
  for (const key of Object.keys(overrides)) {
    if (!(key in defaultPpoConfig)) throw new Error(`PPO config: unknown option '${key}'`);
  }
  const config: PpoConfig = {
    ...defaultPpoConfig,
    hiddenSizes: [...defaultPpoConfig.hiddenSizes],
    ...overrides,
  };
  for (const [key, ok, expected] of checks) {
    const value = config[key];
    if (!(ok as (v: unknown) => boolean)(value)) {
      throw new Error(`PPO config: ${key} = ${JSON.stringify(value)} is invalid; expected ${expected}`);
    }
  }
  if (numEnvs !== undefined && config.minibatchSize > numEnvs * config.stepsPerEnv) {
    throw new Error(
      `PPO config: minibatchSize = ${config.minibatchSize} exceeds the rollout size ` +
        `${numEnvs} envs x ${config.stepsPerEnv} steps = ${numEnvs * config.stepsPerEnv}`,
    );
  }
  return config;
}
