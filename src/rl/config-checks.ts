/**
 * The one way every typed config of `rl` is checked (ppo, simple, model env, cem, pets): overrides may only
 * name known fields, and each field passes its check or the error names the field, its value and what was
 * expected.
 */

/** [field, its test, what it expects in words]. */
export type FieldCheck<C> = readonly [keyof C & string, (value: unknown) => boolean, string];

export const positiveInteger = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) > 0;
export const nonNegativeInteger = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
export const positive = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;
export const nonNegative = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;
export const boolean = (v: unknown): boolean => typeof v === 'boolean';
/** A number in [0, 1] (NaN fails both comparisons). */
export const fraction = (v: unknown): boolean => typeof v === 'number' && v >= 0 && v <= 1;
export const positiveIntegers = (v: unknown): boolean =>
  Array.isArray(v) && v.length > 0 && v.every((d) => positiveInteger(d));

/** Throws for an override that names no field of `defaults`. */
export function refuseUnknownKeys(what: string, defaults: object, overrides: object): void {
  for (const key of Object.keys(overrides)) {
    if (!Object.hasOwn(defaults, key)) throw new Error(`${what}: unknown option '${key}'`);
  }
}

/** Throws for the first field of `config` that fails its check, naming it, its value and what was expected. */
export function checkFields<C>(what: string, config: C, checks: readonly FieldCheck<C>[]): void {
  for (const [key, ok, expected] of checks) {
    if (!ok(config[key])) {
      throw new Error(`${what}: ${key} = ${showValue(config[key])} is invalid; expected ${expected}`);
    }
  }
}

/** A value as an error message shows it: numbers as JavaScript writes them (NaN, Infinity), the rest as JSON. */
export function showValue(value: unknown): string {
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}
