/**
 * A trial's command line for its train command: the sweep's shared flags and settings and the trial's own
 * values as `--set key=value`, as a person would type them. `checkSweepArgs` runs every trial's command line
 * (and every value PBT could reach) through the train command's own parser before any job starts, so a bad
 * key or value in a sweep file is a usage error naming it, not a failed job an hour later.
 */
import { UsageError } from '../cli/args.ts';
import { passThroughFlags, TRAIN_COMMANDS } from './algorithms.ts';
import { extremes } from './distributions.ts';
import type { Sweep } from './sweep-file.ts';

/** A value as `--set` reads it back: JSON, with infinite numbers written as Infinity. */
function setValue(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value);
}

/** `--set key=value` for each entry. */
export function setArgs(values: Record<string, unknown>): string[] {
  return Object.entries(values).flatMap(([key, value]) => ['--set', `${key}=${setValue(value)}`]);
}

/** A fresh trial's flags (everything but --out and --stop-at-steps). */
export function freshArgs(sweep: Sweep, seed: number, hyperparameters: Record<string, unknown>): string[] {
  const flags = Object.entries(sweep.flags).flatMap(([name, value]) =>
    value === false ? [] : value === true ? [`--${name}`] : [`--${name}`, String(value)],
  );
  return [
    '--env',
    sweep.env,
    '--steps',
    String(sweep.steps),
    '--seed',
    String(seed),
    ...flags,
    ...setArgs({ ...sweep.settings, ...hyperparameters }),
    '--quiet',
  ];
}

/** The first paragraph of a usage error (its message without the usage text). */
const firstParagraph = (e: unknown) => (e as Error).message.split('\n\n')[0];

/**
 * Checks a sweep against its train command: the pass-through flags, and a command line with each value any
 * trial can take (each grid value, each range's ends, each choice); PBT's explored fields must be free to
 * change during a run. Throws a usage error naming the field and the problem.
 */
export function checkSweepArgs(sweep: Sweep): void {
  const command = TRAIN_COMMANDS[sweep.algorithm];
  const allowed = passThroughFlags(sweep.algorithm);
  for (const name of Object.keys(sweep.flags)) {
    if (!allowed.includes(name)) {
      throw new UsageError(
        `flags.${name}: not a flag a sweep passes to 'train ${sweep.algorithm}'; expected one of ${allowed.join(', ')}`,
      );
    }
  }
  const parse = (where: string, values: Record<string, unknown>) => {
    try {
      command.parse([...freshArgs(sweep, sweep.seeds[0]!, values), '--out', 'unused']);
    } catch (e) {
      throw new UsageError(`${where}: ${firstParagraph(e)}`);
    }
  };
  parse('settings and flags', {});
  const { search } = sweep;
  if (search.kind === 'grid') {
    for (const [key, values] of Object.entries(search.parameters)) {
      for (const value of values) parse(`grid.${key}`, { [key]: value });
    }
    return;
  }
  const distributions =
    search.kind === 'random'
      ? Object.entries(search.parameters)
      : Object.entries(search.explore).map(([key, p]) => [key, p.initial] as const);
  for (const [key, d] of distributions) {
    const where = search.kind === 'random' ? `random.parameters.${key}` : `pbt.explore.${key}`;
    if (search.kind === 'pbt' && command.fixed.includes(key)) {
      throw new UsageError(
        `${where}: ${key} is fixed once a run has started, so PBT cannot explore it; fixed: ${command.fixed.join(', ')}`,
      );
    }
    for (const value of extremes(d)) parse(where, { [key]: value });
  }
}
