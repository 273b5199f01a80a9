/**
 * The cross-entropy method planner's settings (cem.ts, Chua et al. 2018), one typed config with a doc and a
 * default for every field. The defaults are sized for the latency target (20 ms per action on one core with
 * the default ensemble; `npm run bench -- cem --part latency` measures them): 10 x 40 x 4 = 1600 imagined
 * steps per action, 13.5-16.1 ms median (11.0-11.6 fastest) on 2026-12-02 with the bench at nice -20 beside
 * training runs on both cores; a population of 48 (6 elites) took 17.2-20.3 ms, one of 64 (8 elites) 24.5-30.9
 * ms, over the target (the member networks' gemms are most of it). Smoothing 0.5 rather than
 * PETS's 0.1: on random point-mass problems with the lander's 4 actions (test/cem.test.ts) a categorical
 * refit with 0.1 zeroes actions too early (H 6, 5 iterations of 64: 15-16 of 40 problems more than 1% short
 * of the enumerated optimum; H 5, 8 iterations of 64: 3 of 40 at 0.5, 2 at 0.7).
 */

import {
  boolean,
  checkFields,
  type FieldCheck,
  fraction,
  nonNegative,
  positiveInteger,
  refuseUnknownKeys,
} from './config-checks.ts';

/** How a candidate's particles pick their ensemble member (PETS's trajectory sampling). */
export const PARTICLE_MODES = ['ts-inf', 'ts-1'] as const;
export type ParticleMode = (typeof PARTICLE_MODES)[number];

/** Which first action the planner executes. */
export const CEM_CHOICES = ['best', 'mean'] as const;
export type CemChoice = (typeof CEM_CHOICES)[number];

export interface CemConfig {
  /** Steps of every candidate plan (H). */
  horizon: number;
  /** Candidate plans drawn per iteration. */
  population: number;
  /** Best candidates the distribution is refitted to. */
  elites: number;
  /**
   * Elites of one iteration carried into the next one's population and scored again (iCEM, Pinneri et al.
   * 2020), so a good plan found early is not lost to an unlucky draw; 0 carries none.
   */
  keepElites: number;
  /** Sample-and-refit rounds per planned action. */
  iterations: number;
  /**
   * Weight of the old distribution in each refit (PETS's alpha): new = smoothing x old + (1 - smoothing) x the
   * elites' fit. 0 takes the elites' fit as it is.
   */
  smoothing: number;
  /** Model rollouts per candidate; its return is their mean. */
  particles: number;
  /**
   * 'ts-inf': each particle keeps one elite all plan long (with particles a multiple of the E elites,
   * particle p keeps elite p mod E, so every candidate meets every elite; otherwise each call shuffles an
   * even share of the elites over all particles); 'ts-1': a member drawn every step.
   */
  particleMode: ParticleMode;
  /** Continuous actions: the standard deviation a fresh plan's Gaussian starts with, on a [-1, 1] box. */
  initialStd: number;
  /** Continuous actions: the smallest standard deviation a refit may reach, so the search never freezes. */
  minStd: number;
  /**
   * Warm start: the share the previous plan, shifted one step, keeps in the next plan's first distribution;
   * the rest is the fresh one (uniform probabilities for discrete actions, the box's middle for a continuous
   * mean). A continuous plan's standard deviation starts again from `initialStd`, as PETS does.
   */
  warmStart: number;
  /** Discount of the planned return (and of a terminal value at the horizon). */
  gamma: number;
  /** Share of the population whose actions a policy prior picks as it rolls in the model (0: none). */
  priorShare: number;
  /** Add the critic's value of the last state, discounted, to every candidate that is still flying. */
  terminalValue: boolean;
  /** Weight of the disagreement penalty on planned transitions (0: off). */
  lambdaUncertainty: number;
  /** Weight of the autoencoder's unfamiliarity penalty on planned transitions (Boney et al. 2019; 0: off). */
  lambdaFamiliarity: number;
  /** 'best': the first action of the best candidate seen; 'mean': the final distribution's first step. */
  choose: CemChoice;
  /** Seed of the planner's draws (candidates and the model's noise). */
  seed: number;
}

export const defaultCemConfig: Readonly<CemConfig> = Object.freeze({
  horizon: 10,
  population: 40,
  elites: 5,
  keepElites: 2,
  iterations: 4,
  smoothing: 0.5,
  particles: 1,
  particleMode: 'ts-inf' as ParticleMode,
  initialStd: 0.5,
  minStd: 0.05,
  warmStart: 0.5,
  gamma: 0.99,
  priorShare: 0,
  terminalValue: false,
  lambdaUncertainty: 0,
  lambdaFamiliarity: 0,
  choose: 'best' as CemChoice,
  seed: 1,
} satisfies CemConfig);

const checks: FieldCheck<CemConfig>[] = [
  ['horizon', positiveInteger, 'a positive integer'],
  ['population', (v) => Number.isSafeInteger(v) && (v as number) >= 2, 'an integer >= 2'],
  ['elites', positiveInteger, 'a positive integer'],
  ['keepElites', (v) => Number.isSafeInteger(v) && (v as number) >= 0, 'an integer >= 0'],
  ['iterations', positiveInteger, 'a positive integer'],
  ['smoothing', (v) => typeof v === 'number' && v >= 0 && v < 1, 'a number in [0, 1)'],
  ['particles', positiveInteger, 'a positive integer'],
  ['particleMode', (v) => (PARTICLE_MODES as readonly unknown[]).includes(v), "'ts-inf' or 'ts-1'"],
  ['initialStd', (v) => typeof v === 'number' && v > 0 && Number.isFinite(v), 'a positive number'],
  ['minStd', nonNegative, 'a finite number >= 0'],
  ['warmStart', fraction, 'a number in [0, 1]'],
  ['gamma', (v) => typeof v === 'number' && v > 0 && v <= 1, 'a number in (0, 1]'],
  ['priorShare', fraction, 'a number in [0, 1]'],
  ['terminalValue', boolean, 'true or false'],
  ['lambdaUncertainty', nonNegative, 'a finite number >= 0'],
  ['lambdaFamiliarity', nonNegative, 'a finite number >= 0'],
  ['choose', (v) => (CEM_CHOICES as readonly unknown[]).includes(v), "'best' or 'mean'"],
  ['seed', (v) => Number.isSafeInteger(v) && (v as number) >= 0, 'a non-negative integer'],
];

export function resolveCemConfig(overrides: Partial<CemConfig> = {}): CemConfig {
  refuseUnknownKeys('cem config', defaultCemConfig, overrides);
  const config = { ...defaultCemConfig, ...overrides };
  checkFields('cem config', config, checks);
  if (config.elites > config.population) {
    throw new Error(
      `cem config: elites = ${config.elites} is more than population = ${config.population}; expected elites <= population`,
    );
  }
  if (config.keepElites > config.elites) {
    throw new Error(
      `cem config: keepElites = ${config.keepElites} is more than elites = ${config.elites}; expected keepElites <= elites`,
    );
  }
  return config;
}
