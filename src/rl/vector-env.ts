/**
 * The vector-env contract PPO trains on, stated here structurally because `rl` does not import `env`:
 * `src/env`'s `VectorEnv` satisfies it, and so does the learned model environment. Copy i's observation
 * sits at [i * observationSize, (i + 1) * observationSize); where terminated[i] or truncated[i] is 1 the copy
 * has already been reset and `finalObservations` holds the last observation of the episode that ended.
 * Returned arrays are overwritten by the next call.
 */
export interface RlVectorStep {
  observations: Float32Array;
  rewards: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  finalObservations: Float32Array;
  episodeReturns: Float64Array;
  episodeLengths: Int32Array;
}

/** A discrete space ({ n }) or a box ({ shape, low, high }). */
export type RlActionSpace =
  | { readonly n: number }
  | { readonly shape: readonly number[]; readonly low: ArrayLike<number>; readonly high: ArrayLike<number> };

export interface RlVectorEnv {
  readonly numEnvs: number;
  readonly observationSize: number;
  readonly actionSpace: RlActionSpace;
  reset(seed?: number): { observations: Float32Array };
  step(actions: ArrayLike<number>): RlVectorStep;
  close(): Promise<void>;
}

export function isDiscrete(space: RlActionSpace): space is { readonly n: number } {
  return 'n' in space;
}

/** Number of numbers one action takes: 1 for a discrete space, the box size otherwise. */
export function actionSize(space: RlActionSpace): number {
  return isDiscrete(space) ? 1 : space.shape.reduce((p, d) => p * d, 1);
}
