/**
 * The trials a sweep starts with: every combination of a grid, or configurations drawn at random, each
 * with every run seed; or PBT's population, its first values drawn from each explored range.
 */
import { Rng } from '../tensor/index.ts';
import { sample } from './distributions.ts';
import type { Sweep } from './sweep-file.ts';

export interface TrialPlan {
  /** The run folder's name within the sweep: trial-00, ... (member-00, ... for PBT). */
  name: string;
  /** The run's seed. */
  seed: number;
  /** The searched hyperparameters' values (PBT: the first ones). */
  hyperparameters: Record<string, unknown>;
}

/** Every combination of the grid's values, in the file's order (the last key changing fastest). */
function combinations(parameters: Record<string, unknown[]>): Record<string, unknown>[] {
  return Object.entries(parameters).reduce<Record<string, unknown>[]>(
    (partial, [key, values]) =>
      partial.flatMap((combo) => values.map((value) => ({ ...combo, [key]: value }))),
    [{}],
  );
}

const named = (prefix: string, count: number) => (i: number) =>
  `${prefix}-${String(i).padStart(Math.max(2, String(count - 1).length), '0')}`;

export function plannedTrials(sweep: Sweep): TrialPlan[] {
  const { search, seeds } = sweep;
  const rng = new Rng(sweep.seed);
  if (search.kind === 'pbt') {
    const name = named('member', search.population);
    return Array.from({ length: search.population }, (_, i) => ({
      name: name(i),
      seed: seeds[i % seeds.length]!,
      hyperparameters: Object.fromEntries(
        Object.entries(search.explore).map(([key, p]) => [key, sample(p.initial, rng)]),
      ),
    }));
  }
  const configurations =
    search.kind === 'grid'
      ? combinations(search.parameters)
      : Array.from({ length: search.trials }, () =>
          Object.fromEntries(Object.entries(search.parameters).map(([key, d]) => [key, sample(d, rng)])),
        );
  const name = named('trial', configurations.length * seeds.length);
  return configurations.flatMap((hyperparameters, c) =>
    seeds.map((seed, s) => ({ name: name(c * seeds.length + s), seed, hyperparameters })),
  );
}
