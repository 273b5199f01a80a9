/**
 * Learning-rate schedules: plain functions from the update index (0-based) to a learning rate, applied as
 * `optimizer.lr = schedule(step)` before each update. Past `totalSteps` a decaying schedule holds its final
 * value.
 */
import { checkInt, checkNumber } from './errors.ts';

export type Schedule = (step: number) => number;

/** The same rate at every step. */
export function constantSchedule(lr: number): Schedule {
  checkNumber('constantSchedule: lr', lr, 0);
  return (step) => {
    checkInt('schedule: step', step, 0);
    return lr;
  };
}

export interface DecayOptions {
  /** The rate reached at `totalSteps` and held after. Default 0. */
  final?: number;
  /** Steps of linear warm-up from 0 to the initial rate before the decay starts. Default 0. */
  warmupSteps?: number;
}

function decaySchedule(
  what: string,
  initial: number,
  totalSteps: number,
  options: DecayOptions,
  shape: (progress: number) => number,
): Schedule {
  const final = options.final ?? 0;
  const warmup = options.warmupSteps ?? 0;
  checkNumber(`${what}: initial`, initial, 0);
  checkNumber(`${what}: final`, final, 0);
  checkInt(`${what}: totalSteps`, totalSteps);
  checkInt(`${what}: warmupSteps`, warmup, 0);
  if (warmup >= totalSteps) {
    throw new Error(`${what}: warmupSteps (${warmup}) must be less than totalSteps (${totalSteps})`);
  }
  return (step) => {
    checkInt('schedule: step', step, 0);
    if (step < warmup) return (initial * (step + 1)) / warmup;
    const progress = Math.min(1, (step - warmup) / (totalSteps - warmup));
    return final + (initial - final) * shape(progress);
  };
}

/** From `initial` down to `final` in a straight line over `totalSteps` (PPO's annealing). */
export function linearSchedule(initial: number, totalSteps: number, options: DecayOptions = {}): Schedule {
  return decaySchedule('linearSchedule', initial, totalSteps, options, (p) => 1 - p);
}

/** Cosine annealing (Loshchilov & Hutter 2017, SGDR, without restarts) from `initial` to `final`. */
export function cosineSchedule(initial: number, totalSteps: number, options: DecayOptions = {}): Schedule {
  return decaySchedule(
    'cosineSchedule',
    initial,
    totalSteps,
    options,
    (p) => 0.5 * (1 + Math.cos(Math.PI * p)),
  );
}
