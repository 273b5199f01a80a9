/**
 * A train/validation split of replay rows by episode, so no episode has rows on both sides (rows of one
 * episode are strongly correlated; splitting rows would let validation grade memorised neighbours).
 *
 * Each episode's side is a function of (seed, episode id) alone: a hash maps the pair to u in [0, 1) and
 * the episode is held out for validation when u < validationFraction. So as a buffer grows between fits, an
 * episode never changes side, and a model refitted on more data is never validated on what it trained on.
 * The fraction is of episodes, met in expectation; two guards keep tiny buffers usable: with a fraction
 * above 0 at least one episode is held out, and at least one stays for training.
 */

export interface EpisodeSplit {
  /** Logical row indices, ascending. */
  train: Int32Array;
  validation: Int32Array;
  trainEpisodes: number;
  validationEpisodes: number;
}

/** Splits rows given each row's episode id (`episodes[i]` for logical row i). */
export function splitByEpisode(
  episodes: ArrayLike<number>,
  validationFraction: number,
  seed: number,
): EpisodeSplit {
  if (!(validationFraction >= 0 && validationFraction < 1)) {
    throw new RangeError(
      `splitByEpisode: validationFraction = ${String(validationFraction)} is invalid; expected a number in [0, 1)`,
    );
  }
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(
      `splitByEpisode: seed = ${String(seed)} is invalid; expected a non-negative integer`,
    );
  }
  const draws = new Map<number, number>();
  for (let i = 0; i < episodes.length; i++) {
    const id = episodes[i]!;
    if (!draws.has(id)) draws.set(id, episodeUniform(seed, id));
  }
  const held = new Set<number>();
  for (const [id, u] of draws) if (u < validationFraction) held.add(id);
  if (validationFraction > 0 && draws.size >= 2) {
    if (held.size === 0) held.add(extreme(draws, (a, b) => a < b));
    if (held.size === draws.size) held.delete(extreme(draws, (a, b) => a > b));
  } else if (validationFraction > 0) {
    throw new Error(
      `splitByEpisode: the buffer holds ${draws.size} episode(s); a validation split needs at least 2`,
    );
  }
  let validationRows = 0;
  for (let i = 0; i < episodes.length; i++) if (held.has(episodes[i]!)) validationRows++;
  const train = new Int32Array(episodes.length - validationRows);
  const validation = new Int32Array(validationRows);
  let t = 0;
  let v = 0;
  for (let i = 0; i < episodes.length; i++) {
    if (held.has(episodes[i]!)) validation[v++] = i;
    else train[t++] = i;
  }
  return { train, validation, trainEpisodes: draws.size - held.size, validationEpisodes: held.size };
}

/** The episode whose draw is first under `before` (ties to the smaller id, so the choice is stable). */
function extreme(draws: Map<number, number>, before: (a: number, b: number) => boolean): number {
  let best = -1;
  let bestU = 0;
  for (const [id, u] of draws) {
    if (best === -1 || before(u, bestU) || (u === bestU && id < best)) {
      best = id;
      bestU = u;
    }
  }
  return best;
}

/** A uniform number in [0, 1) from (seed, id): murmur3's 32-bit finaliser over both, high seed bits mixed. */
export function episodeUniform(seed: number, id: number): number {
  let h = (seed >>> 0) ^ Math.imul(Math.floor(seed / 0x100000000) >>> 0, 0x27d4eb2f);
  // The constant keeps (0, 0) off the fixed point mix32(0) = 0.
  h = mix32(h ^ Math.imul(id >>> 0, 0x9e3779b1) ^ 0x6a09e667);
  h = mix32(h ^ Math.imul(Math.floor(id / 0x100000000) >>> 0, 0x85ebca6b));
  return h / 0x100000000;
}

function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
