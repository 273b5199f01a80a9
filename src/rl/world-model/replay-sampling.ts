/**
 * Seeded draws of replay-buffer rows by logical index (0 = the oldest row kept, size - 1 = the newest):
 * uniform, or weighted towards recent rows so a model keeps up with a policy that changes.
 *
 * Recent weighting: a row `age` rows older than the newest is drawn with probability proportional to
 * 2^(-age / halfLife). A row halfLife rows old is drawn half as often as the newest, one 2 * halfLife old a
 * quarter as often; halfLife = Infinity is uniform. Draws are exact (inverse CDF of the geometric law
 * truncated to the rows present), one uniform number each.
 */
import type { Rng } from '../../tensor/index.ts';

export function sampleUniformIndices(
  size: number,
  count: number,
  rng: Rng,
  out: Int32Array = new Int32Array(count),
): Int32Array {
  checkDraw('sampleUniform', size, count, out);
  for (let i = 0; i < count; i++) out[i] = Math.min(size - 1, Math.floor(rng.uniform() * size));
  return out;
}

export function sampleRecentIndices(
  size: number,
  count: number,
  halfLife: number,
  rng: Rng,
  out: Int32Array = new Int32Array(count),
): Int32Array {
  if (!(halfLife > 0)) {
    throw new RangeError(
      `sampleRecent: halfLife = ${String(halfLife)} is invalid; expected a positive number of rows (or Infinity)`,
    );
  }
  if (halfLife === Number.POSITIVE_INFINITY) return sampleUniformIndices(size, count, rng, out);
  checkDraw('sampleRecent', size, count, out);
  const logRatio = -Math.LN2 / halfLife; // log r, with P(age = a) proportional to r^a
  // 1 - r^size, the probability mass of the ages that exist; expm1 keeps it exact for long half-lives.
  const mass = -Math.expm1(size * logRatio);
  for (let i = 0; i < count; i++) {
    const age = Math.floor(Math.log1p(-rng.uniform() * mass) / logRatio);
    out[i] = size - 1 - Math.min(size - 1, age);
  }
  return out;
}

function checkDraw(where: string, size: number, count: number, out: Int32Array): void {
  if (size < 1) throw new Error(`${where}: the replay buffer is empty; add transitions before sampling`);
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`${where}: count = ${String(count)} is invalid; expected a non-negative integer`);
  }
  if (out.length < count) {
    throw new RangeError(`${where}: out holds ${out.length} indices; expected at least count = ${count}`);
  }
}
