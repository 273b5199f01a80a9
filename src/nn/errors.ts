/** Small argument checks shared by the layer's constructors, so every bad value gets the same clear message. */

/** Throws unless `value` is an integer >= `min`; `what` names the argument, as in `Linear: inFeatures`. */
export function checkInt(what: string, value: number, min = 1): void {
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${what} must be an integer >= ${min}, got ${value}`);
  }
}

/** Throws unless `value` is a finite number in [min, max] (bounds inclusive unless `open` says otherwise). */
export function checkNumber(
  what: string,
  value: number,
  min = Number.NEGATIVE_INFINITY,
  max = Number.POSITIVE_INFINITY,
  open: { min?: boolean; max?: boolean } = {},
): void {
  const belowMin = open.min ? value <= min : value < min;
  const aboveMax = open.max ? value >= max : value > max;
  if (typeof value !== 'number' || Number.isNaN(value) || belowMin || aboveMax) {
    const lo = Number.isFinite(min) ? `${open.min ? '(' : '['}${min}` : '(-inf';
    const hi = Number.isFinite(max) ? `${max}${open.max ? ')' : ']'}` : 'inf)';
    throw new Error(`${what} must be a number in ${lo}, ${hi}, got ${value}`);
  }
}

export function checkOneOf<T extends string>(what: string, value: T, allowed: readonly T[]): void {
  if (!allowed.includes(value)) {
    throw new Error(`${what} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got '${value}'`);
  }
}
