/**
 * The PETS loop's settings (pets.ts), one typed config with a doc and a default for every field. The
 * planner's own settings sit in `cem`, on top of cem-config.ts's defaults.
 */
import { type CemConfig, resolveCemConfig } from './cem-config.ts';
import {
  checkFields,
  type FieldCheck,
  nonNegativeInteger,
  positive,
  positiveInteger,
  positiveIntegers,
  refuseUnknownKeys,
} from './config-checks.ts';
import { REST_RULES, type RestRule } from './world-model/model-env-config.ts';

export interface PetsConfig {
  /** Real environment steps in all: the sample budget (collection only; evaluation is apart). */
  totalRealSteps: number;
  /** Real steps of uniformly random actions before the first fit (whole episodes, at least this many). */
  initialRealSteps: number;
  /** Real steps the planner collects per iteration (whole episodes, at least this many), between refits. */
  realStepsPerIteration: number;
  /** Hidden layer sizes of the ensemble's members. */
  modelHiddenSizes: number[];
  /** Ensemble members E, and the elites kept of them (the planner rolls elites only). */
  ensembleMembers: number;
  ensembleElites: number;
  /** Episodes held out of every fit, for early stopping and outcome calibration. */
  validationFraction: number;
  /** Most epochs of one refit (each `modelStepsPerEpoch` gradient steps); the first fit gets at least 20. */
  modelEpochs: number;
  /** Gradient steps per refit epoch. */
  modelStepsPerEpoch: number;
  /** Epochs without a better validation loss before a refit stops. */
  modelPatience: number;
  /** The model's AdamW step size. */
  modelLearningRate: number;
  /** How many times a touchdown row counts in the fit (as the model-based loop's default). */
  modelContactEventWeight: number;
  /** What decides an imagined landing (model-env-config.ts): as the model-based loop's default. */
  restRule: RestRule;
  /** Evaluate the planner on the real env every this many iterations (and at the end); 0: only at the end. */
  evalEvery: number;
  /** Episodes per evaluation (seeds from 1e9): a planner plans every step, so fewer than a policy's 100. */
  evalEpisodes: number;
  /** Capacity of the replay buffer (real transitions kept). */
  bufferCapacity: number;
  /** The planner's settings (cem-config.ts), on top of its defaults. */
  cem: Partial<CemConfig>;
  /** Seed of every draw: the real episodes, the model's weights, the planner. */
  seed: number;
}

export const defaultPetsConfig: Readonly<PetsConfig> = Object.freeze({
  totalRealSteps: 50_000,
  initialRealSteps: 2_000,
  realStepsPerIteration: 1_000,
  modelHiddenSizes: [200, 200, 200],
  ensembleMembers: 7,
  ensembleElites: 5,
  validationFraction: 0.1,
  modelEpochs: 5,
  modelStepsPerEpoch: 100,
  modelPatience: 2,
  modelLearningRate: 1e-3,
  modelContactEventWeight: 20,
  restRule: 'sleep' as RestRule,
  evalEvery: 5,
  evalEpisodes: 10,
  bufferCapacity: 1_000_000,
  cem: {},
  seed: 1,
} satisfies PetsConfig);

/**
 * Fields fixed once a run has started: the budget and first collection, the ensemble's shape, the buffer
 * and the seed. A resumed run may change any other from its next iteration on (`--resume <dir> --set`).
 */
export const PETS_FIXED_DURING_RUN: readonly string[] = Object.freeze([
  'totalRealSteps',
  'initialRealSteps',
  'modelHiddenSizes',
  'ensembleMembers',
  'ensembleElites',
  'bufferCapacity',
  'seed',
]);

const checks: FieldCheck<PetsConfig>[] = [
  ['totalRealSteps', positiveInteger, 'a positive integer'],
  ['initialRealSteps', positiveInteger, 'a positive integer'],
  ['realStepsPerIteration', positiveInteger, 'a positive integer'],
  ['modelHiddenSizes', positiveIntegers, 'a non-empty list of positive integers'],
  ['ensembleMembers', positiveInteger, 'a positive integer'],
  ['ensembleElites', positiveInteger, 'a positive integer'],
  ['validationFraction', (v) => typeof v === 'number' && v > 0 && v < 1, 'a number in (0, 1)'],
  ['modelEpochs', positiveInteger, 'a positive integer'],
  ['modelStepsPerEpoch', positiveInteger, 'a positive integer'],
  ['modelPatience', positiveInteger, 'a positive integer'],
  ['modelLearningRate', positive, 'a positive number'],
  ['modelContactEventWeight', positive, 'a positive number'],
  ['restRule', (v) => (REST_RULES as readonly unknown[]).includes(v), "'model', 'sleep' or 'hazard'"],
  ['evalEvery', nonNegativeInteger, 'an integer >= 0'],
  ['evalEpisodes', positiveInteger, 'a positive integer'],
  ['bufferCapacity', positiveInteger, 'a positive integer'],
  ['seed', nonNegativeInteger, 'a non-negative integer'],
];

/** The defaults overridden by `overrides`, checked: a bad value is an error naming it and what was expected. */
export function resolvePetsConfig(overrides: Partial<PetsConfig> = {}): PetsConfig {
  refuseUnknownKeys('pets config', defaultPetsConfig, overrides);
  const config: PetsConfig = {
    ...defaultPetsConfig,
    modelHiddenSizes: [...defaultPetsConfig.modelHiddenSizes],
    ...overrides,
    cem: { ...overrides.cem },
  };
  checkFields('pets config', config, checks);
  if (config.ensembleElites > config.ensembleMembers) {
    throw new Error(
      `pets config: ensembleElites = ${config.ensembleElites} exceeds ensembleMembers = ${config.ensembleMembers}`,
    );
  }
  // The planner's part is checked now, so a bad key fails before any real step is taken.
  petsCemConfig(config);
  return config;
}

/** The planner's full settings for a PETS run: its overrides on cem-config's defaults, the run's seed. */
export function petsCemConfig(config: PetsConfig): CemConfig {
  return resolveCemConfig({ seed: config.seed, ...config.cem });
}
