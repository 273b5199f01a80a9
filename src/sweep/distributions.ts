/**
 * Where a sweep draws hyperparameter values from: a uniform or log-uniform range of numbers, a range of
 * integers (both ends included), or a list of choices. Random search draws trials from them; population-based
 * training draws its first members from them, resamples from them, and keeps perturbed values inside them.
 */
import { UsageError } from '../cli/args.ts';
import type { Rng } from '../tensor/index.ts';

export type Distribution =
  | { uniform: [number, number] }
  | { logUniform: [number, number] }
  | { intUniform: [number, number] }
  | { choice: unknown[] };

const KINDS = ['uniform', 'logUniform', 'intUniform', 'choice'] as const;

/** `raw` checked as a distribution; `where` names it in the error (e.g. "pbt.explore.gamma.initial"). */
export function checkDistribution(raw: unknown, where: string): Distribution {
  const expected = `{"uniform": [low, high]}, {"logUniform": [low, high]}, {"intUniform": [low, high]} or {"choice": [values]}`;
  const keys = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? Object.keys(raw) : [];
  const kind = keys.length === 1 ? KINDS.find((k) => k === keys[0]) : undefined;
  if (kind === undefined) {
    throw new UsageError(`${where} = ${JSON.stringify(raw)} is invalid; expected ${expected}`);
  }
  const value = (raw as Record<string, unknown>)[kind];
  if (kind === 'choice') {
    if (!Array.isArray(value) || value.length === 0) {
      throw new UsageError(
        `${where}.choice = ${JSON.stringify(value)} is invalid; expected a non-empty list`,
      );
    }
    return { choice: value };
  }
  const pair = Array.isArray(value) && value.length === 2 && value.every((v) => Number.isFinite(v));
  const [low, high] = (pair ? value : [Number.NaN, Number.NaN]) as [number, number];
  const ok =
    pair &&
    low <= high &&
    (kind !== 'logUniform' || low > 0) &&
    (kind !== 'intUniform' || (Number.isSafeInteger(low) && Number.isSafeInteger(high)));
  if (!ok) {
    const what =
      kind === 'logUniform'
        ? '[low, high] with 0 < low <= high'
        : kind === 'intUniform'
          ? 'two integers [low, high] with low <= high'
          : 'two finite numbers [low, high] with low <= high';
    throw new UsageError(`${where}.${kind} = ${JSON.stringify(value)} is invalid; expected ${what}`);
  }
  return { [kind]: [low, high] } as Distribution;
}

/** A value drawn from `d`. */
export function sample(d: Distribution, rng: Rng): unknown {
  if ('choice' in d) return d.choice[rng.integer(0, d.choice.length)];
  if ('uniform' in d) return rng.uniform(d.uniform[0], d.uniform[1]);
  if ('logUniform' in d) {
    const [low, high] = d.logUniform;
    return Math.exp(rng.uniform(Math.log(low), Math.log(high)));
  }
  return rng.integer(d.intUniform[0], d.intUniform[1] + 1);
}

/** The numeric range of `d`, or null for a list of choices. */
export function numericRange(d: Distribution): [number, number] | null {
  if ('choice' in d) return null;
  if ('uniform' in d) return d.uniform;
  return 'logUniform' in d ? d.logUniform : d.intUniform;
}

/** `value` brought inside `d`'s range (and to a whole number for an integer range). */
export function keepInside(d: Distribution, value: number): number {
  const range = numericRange(d);
  if (!range) return value;
  const inside = Math.min(range[1], Math.max(range[0], value));
  return 'intUniform' in d ? Math.round(inside) : inside;
}

/** The values that bound what `d` can give: its range's ends, or every choice (to check them up front). */
export function extremes(d: Distribution): unknown[] {
  return numericRange(d) ?? (d as { choice: unknown[] }).choice;
}
