/** The model environment's settings, one typed config with a doc and a default for every field. */

import {
  boolean,
  checkFields,
  type FieldCheck,
  nonNegative,
  positiveInteger,
  refuseUnknownKeys,
} from '../config-checks.ts';

/** What decides an imagined landing (ModelEnvConfig.restRule). */
export const REST_RULES = ['model', 'sleep', 'hazard'] as const;
export type RestRule = (typeof REST_RULES)[number];

export interface ModelEnvConfig {
  /** Copies N stepped together, as one forward pass of the model. */
  numEnvs: number;
  /** Imagined steps before a copy truncates (the rollout horizon H; `setHorizon` changes it). */
  horizon: number;
  /**
   * Which member predicts a copy's step: 'random' draws an elite every step (MBPO; PETS's TS-1), 'fixed'
   * draws one per rollout and keeps it (PETS's TS-inf).
   */
  memberChoice: 'random' | 'fixed';
  /**
   * Where an ordinary step's reward comes from: 'shaping' applies Gymnasium's reward rule to the imagined
   * states (lander-reward.ts; the reward function is known, as PETS assumes, and an imagined return then
   * telescopes instead of piling up a learned reward's small bias), 'predicted' takes the model's reward head.
   * Terminal steps give -100 / +100 either way.
   */
  reward: 'shaping' | 'predicted';
  /** Draw the state change and reward from the predicted Gaussian (true) or take its mean. */
  sampleNoise: boolean;
  /** Draw the outcome from its predicted probabilities (true) or take the most likely class. */
  sampleOutcome: boolean;
  /** Draw each leg contact from its probability (true) or threshold it at 0.5. */
  sampleContacts: boolean;
  /**
   * Weight of the disagreement penalty (MOPO-style): reward minus this times the members' disagreement on
   * the next state (the standard deviation of the elites' means, in units of the state change's spread,
   * averaged over dimensions). 0 turns it off. Default 1, from a measurement: on held-out real lander
   * transitions the default ensemble's mean disagreement is 0.058 (`npm run bench -- world-model`), a
   * penalty of 0.06 per step, a tenth of a typical |reward|; off the data a small ensemble's disagreement is
   * about 40 times its on-data value (test/world-model.test.ts, on the synthetic system).
   */
  lambdaUncertainty: number;
  /**
   * Weight of the autoencoder penalty: reward minus this times the excess of the relative familiarity score
   * over 1 (the 95th percentile of held-out real rows). 0 turns it off; without a familiarity scorer there
   * is none. Default 1: on held-out real transitions the mean relative score is 0.31 and 6.5% of rows pass
   * 1, so the penalty falls almost only on states and actions the data never had.
   */
  lambdaFamiliarity: number;
  /** Truncate a copy when its disagreement exceeds this; Infinity never does. */
  disagreementLimit: number;
  /**
   * For a model with memory (gru): every this many imagined steps of a copy, its memory is rebuilt from
   * zeros on the copy's last `rewarmWindow` imagined steps, as training warms its short windows; left to run
   * for hundreds of steps the memory drifts where training never took it (measured: the gru's imagined
   * landers sat on the ground but its at-rest event fired once in 400 steps over 50 heuristic episodes, 33
   * times with a rebuild every 8 steps). 0 never rebuilds.
   */
  rewarmEvery: number;
  /** How many of a copy's last imagined steps a rebuild runs through. */
  rewarmWindow: number;
  /** Gymnasium's rule: |x| >= 1 ends the episode as a crash (-100), whatever the model's outcome says. */
  outOfBoundsCrash: boolean;
  /**
   * What decides the at-rest landing (+100): 'model' samples it from the outcome head; 'sleep' applies Box2D's
   * sleep rule to the imagined states (a known termination function, as MBPO's per-env ones): the lander is
   * at rest once it has stood nearly still with no engine firing (firing wakes a body), for
   * `sleepSteps` imagined steps in a row; the head's at-rest class then counts as continue. A memoryless
   * model cannot count those steps: measured on a loop's own data, 6231 still, both-legs, no-engine rows led
   * to 10 landings (the policy fired in between), so its hazard of 0.003 per step rewards standing on the
   * pad however the engines fire, and the policy learns to hover on its legs, which never sleeps for real.
   * 'hazard' is the same rule made memoryless: each still, no-engine step lands with probability
   * 1 / `sleepSteps` (the same mean time to sleep) once the still run is longer than free fall can make it
   * (sleep-rule.ts `supportedStillSteps`: 3 steps at the default tolerance), so every quiet step on the pad is worth a share of the +100
   * at once, where the counted rule pays only after `sleepSteps` quiet steps in a row, which a stochastic
   * policy that still fires now and then almost never strings together (measured: 0-2 imagined landings per
   * 100k imagined steps over a loop's first 50k real steps).
   */
  restRule: RestRule;
  /** Steps of stillness the sleep rule needs: Box2D's timeToSleep 0.5 s at 50 steps per second. */
  sleepSteps: number;
  /**
   * The largest |vx| and |vy| (observation units) that count as still. Box2D's 0.01 m/s is 0.002 / 0.0013 here,
   * below the model's own noise on a standing lander (predicted std 0.0025 / 0.0055), so the rule is relaxed
   * to about 4 of those standard deviations.
   */
  sleepSpeed: number;
  /** The largest |angular velocity| (observation units) that counts as still (Box2D: 2 deg/s, 0.014 here; model noise 0.014). */
  sleepSpin: number;
  /** Seed of every draw (starts, members, noise, outcomes). */
  seed: number;
}

export const defaultModelEnvConfig: Readonly<ModelEnvConfig> = Object.freeze({
  numEnvs: 256,
  horizon: 10,
  memberChoice: 'random',
  reward: 'shaping',
  sampleNoise: true,
  sampleOutcome: true,
  sampleContacts: false,
  lambdaUncertainty: 1,
  lambdaFamiliarity: 1,
  disagreementLimit: Number.POSITIVE_INFINITY,
  rewarmEvery: 8,
  rewarmWindow: 8,
  outOfBoundsCrash: true,
  restRule: 'model' as RestRule,
  sleepSteps: 25,
  sleepSpeed: 0.02,
  sleepSpin: 0.05,
  seed: 1,
} satisfies ModelEnvConfig);

const checks: FieldCheck<ModelEnvConfig>[] = [
  ['numEnvs', positiveInteger, 'a positive integer'],
  ['horizon', positiveInteger, 'a positive integer'],
  ['memberChoice', (v) => v === 'random' || v === 'fixed', "'random' or 'fixed'"],
  ['reward', (v) => v === 'shaping' || v === 'predicted', "'shaping' or 'predicted'"],
  ['sampleNoise', boolean, 'true or false'],
  ['sampleOutcome', boolean, 'true or false'],
  ['sampleContacts', boolean, 'true or false'],
  ['lambdaUncertainty', nonNegative, 'a finite number >= 0'],
  ['lambdaFamiliarity', nonNegative, 'a finite number >= 0'],
  ['disagreementLimit', (v) => typeof v === 'number' && v > 0, 'a positive number (Infinity: never)'],
  ['rewarmEvery', (v) => Number.isSafeInteger(v) && (v as number) >= 0, 'an integer >= 0'],
  ['rewarmWindow', positiveInteger, 'a positive integer'],
  ['outOfBoundsCrash', boolean, 'true or false'],
  ['restRule', (v) => (REST_RULES as readonly unknown[]).includes(v), "'model', 'sleep' or 'hazard'"],
  ['sleepSteps', positiveInteger, 'a positive integer'],
  ['sleepSpeed', (v) => typeof v === 'number' && v > 0, 'a positive number'],
  ['sleepSpin', (v) => typeof v === 'number' && v > 0, 'a positive number'],
  ['seed', (v) => Number.isSafeInteger(v) && (v as number) >= 0, 'a non-negative integer'],
];

export function resolveModelEnvConfig(overrides: Partial<ModelEnvConfig> = {}): ModelEnvConfig {
  refuseUnknownKeys('model env config', defaultModelEnvConfig, overrides);
  const config = { ...defaultModelEnvConfig, ...overrides };
  checkFields('model env config', config, checks);
  return config;
}
