// Terrain of one episode (spec §1.3): 12 random heights, the pad flattened, then smoothed with the
// reference's factor 0.33 and its wrap-around of height[-1] to height[11].

import type { Rng } from '../rng/index.ts';
import { CHUNKS, H, HELIPAD_Y, TERRAIN_SMOOTHING, W } from './constants.ts';

export interface Terrain {
  /** x of each of the CHUNKS terrain vertices, metres. */
  readonly chunkX: Float64Array;
  /** y of each of the CHUNKS terrain vertices, metres. */
  readonly smoothY: Float64Array;
  readonly helipadX1: number;
  readonly helipadX2: number;
  readonly helipadY: number;
}

export function generateTerrain(rng: Rng): Terrain {
  const height = new Float64Array(CHUNKS + 1);
  for (let i = 0; i <= CHUNKS; i++) height[i] = rng.uniform(0, H / 2);
  const chunkX = new Float64Array(CHUNKS);
  for (let i = 0; i < CHUNKS; i++) chunkX[i] = (W / (CHUNKS - 1)) * i;
  const half = Math.floor(CHUNKS / 2);
  for (let i = half - 2; i <= half + 2; i++) height[i] = HELIPAD_Y;
  const smoothY = new Float64Array(CHUNKS);
  for (let i = 0; i < CHUNKS; i++) {
    // Python's height[-1] is height[CHUNKS]: keep the wrap (spec §1.3).
    const previous = i === 0 ? height[CHUNKS]! : height[i - 1]!;
    smoothY[i] = TERRAIN_SMOOTHING * (previous + height[i]! + height[i + 1]!);
  }
  return {
    chunkX,
    smoothY,
    helipadX1: chunkX[half - 1]!,
    helipadX2: chunkX[half + 1]!,
    helipadY: HELIPAD_Y,
  };
}
