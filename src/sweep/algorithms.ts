/**
 * The engine's train commands as a sweep uses them: a trial is an ordinary run folder trained by
 * `npm run train -- <algorithm>`'s own parser and train function, so its metrics, checkpoints and exact
 * `--resume` are the engine's. Per algorithm: parse argv, train, the fields fixed for a run, and the flags
 * a sweep file may pass through (the rest the sweep sets itself).
 */
import type { CommandSpec } from '../cli/args.ts';
import { trainOptionsFromArgs, trainPpo, trainSpec } from '../cli/train.ts';
import { trainPets, trainPetsOptionsFromArgs, trainPetsSpec } from '../cli/train-pets.ts';
import { trainSimple, trainSimpleOptionsFromArgs, trainSimpleSpec } from '../cli/train-simple.ts';
import { PETS_FIXED_DURING_RUN } from '../rl/pets-config.ts';
import { PPO_FIXED_DURING_RUN } from '../rl/ppo-config.ts';
import { SIMPLE_FIXED_DURING_RUN } from '../rl/simple-config.ts';
import type { Algorithm } from './sweep-file.ts';

export interface TrainCommand {
  spec: CommandSpec;
  /** Checks a command line as `npm run train -- <algorithm>` does (a usage error names what is wrong). */
  parse(argv: readonly string[]): unknown;
  /** Runs the command line; whether the run has spent its budget. */
  train(argv: readonly string[], log: (line: string) => void): Promise<{ finished: boolean }>;
  /** Fields a resumed run may not change (the rl config's `*_FIXED_DURING_RUN`). */
  fixed: readonly string[];
  /** The metrics field that counts the run's updates (its checkpoints are keyed by it). */
  counter: 'update' | 'iteration';
}

export const TRAIN_COMMANDS: Record<Algorithm, TrainCommand> = {
  ppo: {
    spec: trainSpec,
    parse: trainOptionsFromArgs,
    train: (argv, log) => trainPpo({ ...trainOptionsFromArgs(argv), log }),
    fixed: PPO_FIXED_DURING_RUN,
    counter: 'update',
  },
  simple: {
    spec: trainSimpleSpec,
    parse: trainSimpleOptionsFromArgs,
    train: (argv, log) => trainSimple({ ...trainSimpleOptionsFromArgs(argv), log }),
    fixed: SIMPLE_FIXED_DURING_RUN,
    counter: 'iteration',
  },
  pets: {
    spec: trainPetsSpec,
    parse: trainPetsOptionsFromArgs,
    train: (argv, log) => trainPets({ ...trainPetsOptionsFromArgs(argv), log }),
    fixed: PETS_FIXED_DURING_RUN,
    counter: 'iteration',
  },
};

/** Flags the sweep sets for every trial itself; a sweep file's `flags` may not. */
export const SWEEP_OWNED_FLAGS = [
  'env',
  'steps',
  'seed',
  'out',
  'set',
  'resume',
  'stop-after',
  'stop-at-steps',
  'quiet',
];

/** The flags of `algorithm`'s train command a sweep file may pass through. */
export function passThroughFlags(algorithm: Algorithm): string[] {
  return TRAIN_COMMANDS[algorithm].spec.flags
    .map((f) => f.name)
    .filter((n) => !SWEEP_OWNED_FLAGS.includes(n));
}
