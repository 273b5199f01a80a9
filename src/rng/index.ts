/**
 * The seeded random number generator, a leaf module that imports nothing: `src/tensor` re-exports it and
 * `src/env` uses it, so the whole engine draws from one generator type.
 */
export { entropySeed, Rng } from './rng.ts';
